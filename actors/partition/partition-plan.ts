/**
 * What one partition actor runs: the plain, structured-cloneable description that the
 * main thread builds from the topology and ships to the worker that hosts the actor.
 * It holds no functions and no handles, only data, so it crosses threads unchanged.
 */

import type { PackedLogRecords } from '../gateway/log-batch.ts';
import type { PackedKafkaBatch } from '../kafka/kafka-batch.ts';
import type { EnrichPlan } from '../tables/enricher.ts';
import type { WindowOperatorConfig } from '../windows/index.ts';
import type { DecodeFailureRecord } from './partition-pipeline.ts';

/** Where the events of a partition come from. */
export type PartitionInput =
  | {
      kind: 'pushed';
      /**
       * Batches arrive from a reader on the main thread: decoded records, or a file's JSON
       * lines, decoded here in the worker (`lines` messages).
       */
      format: 'json';
      /** A file source: its reader may send `lines` (on the native path), read here for the windows' fields. */
      lines?: boolean;
    }
  | {
      kind: 'kafka';
      topic: string;
      /** Raw message batches arrive packed in one buffer and are decoded here, in the worker. */
      format: 'json' | 'msgpack' | 'frame';
    }
  | {
      kind: 'generator';
      keys: number;
      skew: number;
      seed: number;
      startTime: number | null;
      /** Events per second across the source (0 = as fast as possible); each partition takes its share. */
      rate: number;
      /** Events across the source; each partition takes its share. null = unbounded. */
      count: number | null;
      outOfOrder: number;
      late: number;
      clock: 'synthetic' | 'wall';
    };

/** One output a partition writes to: a sink and the file it appends to, if any. */
export interface OutputTarget {
  sink: string;
  /** For file sinks, the file this partition writes (per-partition when the source has several). */
  file: string | null;
}

export interface WindowPlan {
  name: string;
  operator: WindowOperatorConfig;
  to: OutputTarget[];
  late: OutputTarget | null;
  /** Lookups into tables, before the transform; absent = none. */
  enrich?: EnrichPlan[];
  /** Absolute module path whose default export maps an event to an event or null. */
  transform: string | null;
}

export interface StreamPlan {
  name: string;
  to: OutputTarget[];
  /** Lookups into tables, before the transform; absent = none. */
  enrich?: EnrichPlan[];
  transform: string | null;
}

/** Where and how often the partition checkpoints. */
export interface CheckpointPlan {
  /** `<state.dir>/<source>/<partition>`. */
  dir: string;
  intervalMs: number;
  /** Snapshot files kept. */
  keep: number;
  /** A snapshot file every this many checkpoints (and on stop). */
  snapshotEvery: number;
  /**
   * Sinks that hold this partition's rows in a transaction until a checkpoint commits them
   * (Kafka `transactional: true`); they get the hooks of `sink-hooks.ts` instead of `sync`.
   */
  twoPhaseSinks?: string[];
  /**
   * Window state one worker holds in memory, in bytes (`state.memory` / workers); past it
   * cold key groups are evicted to the store and read back on demand. Absent or null: unbounded.
   */
  memoryBytes?: number | null;
}

export interface PartitionPlan {
  source: string;
  partition: number;
  /** Partitions of the source; 0 when not known in advance (Kafka: assigned by the group). */
  partitions: number;
  keyField: string;
  timeField: string;
  maxOutOfOrderMs: number;
  idleTimeoutMs: number | null;
  batchSize: number;
  input: PartitionInput;
  windows: WindowPlan[];
  streams: StreamPlan[];
  deadLetter: OutputTarget | null;
  checkpoint: CheckpointPlan;
}

/**
 * The message a reader on the main thread sends to a pushed partition: records in source
 * order, each an event or (at its index in `failures`) a record that could not be decoded.
 */
export type PartitionMessage =
  | {
      kind: 'records';
      /** Decoded events; null where the record failed to decode. */
      events: (Record<string, unknown> | null)[];
      /** Source position of each record (1-based line number for files, `<commit LSN>#<n>` for CDC). */
      positions: SourcePosition[];
      failures: Array<[index: number, failure: DecodeFailureRecord]>;
    }
  | {
      kind: 'lines';
      /** A file source's JSON lines back to back (no terminators), decoded by the actor. */
      bytes: Uint8Array;
      /** Line i is `bytes[bounds[2i], bounds[2i + 1])`; empty for a line in `failures`. */
      bounds: Uint32Array;
      /** 1-based line number of each line. */
      positions: number[];
      failures: Array<[index: number, failure: DecodeFailureRecord]>;
    }
  | { kind: 'kafka'; batch: PackedKafkaBatch }
  /** Gateway log records as stored, decoded by the actor (`actors/gateway/log-batch.ts`). */
  | { kind: 'log'; records: PackedLogRecords }
  | { kind: 'end' };

/** A source position: a line number, a generator sequence, a Kafka offset (decimal string). */
export type SourcePosition = number | string;

/** What a partition actor emits on the `sink` channel. */
export interface SinkWrite {
  sink: string;
  file: string | null;
  /** JSON lines, each ending with a newline. */
  data: string;
  rows: number;
  /** Rows per output (window, stream or dead-letter) they come from, for metrics. */
  outputs: Record<string, number>;
  /**
   * Which partition wrote the rows and the checkpoint they follow: after a crash the
   * partition restores that checkpoint and writes the same rows again with the same
   * origin, which lets a sink give a replayed insert the identity of the first one.
   * Absent on rows a sink forwards itself (dead letters).
   */
  origin?: WriteOrigin;
}

/** A partition (`<source>/<partition>`) and the id of the last checkpoint it committed or restored. */
export interface WriteOrigin {
  partition: string;
  checkpoint: number;
}

/**
 * What a partition actor emits on the `sync` channel before it commits a checkpoint:
 * the sink must make durable everything the partition handed it so far (file sinks
 * fsync `files`, batching sinks flush), then acknowledge. Every sink actor answers the
 * `sync` request; the job turns this emit into `sink.ask('sync', files)`.
 */
export interface SinkSync {
  sink: string;
  /** The partition's files in this sink; empty for sinks that are not files. */
  files: string[];
}

/** What a partition actor emits on the `control` channel. */
export type PartitionReport =
  | { kind: 'ended'; source: string; partition: number }
  | {
      kind: 'checkpointed';
      source: string;
      partition: number;
      checkpoint: number;
      /** The next source position to read. */
      position: SourcePosition | null;
    };
