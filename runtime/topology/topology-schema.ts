import { availableParallelism } from 'node:os';
import { z } from 'zod';
import {
  byteSize,
  duration,
  filePath,
  IDENTIFIER_EXPECTED,
  identifier,
  integerAtLeast,
  positiveDuration,
} from './schema-primitives.ts';
import { sinkSchema } from './sink-schema.ts';
import { sourceSchema } from './source-schema.ts';
import { lookupTableSchema } from './table-schema.ts';
import { streamSchema, windowSchema } from './window-schema.ts';

/**
 * The one schema of a topology file. The TypeScript types (`Topology`, …) are
 * inferred from it and `sluice schema` prints it as JSON Schema, so the
 * `.describe()` texts below are the user documentation of every field.
 */

function namedSection<T extends z.ZodType>(item: T, what: string) {
  return z.record(identifier, item, { error: `a map of ${what} by name` });
}

const adminSchema = z
  .strictObject({
    port: integerAtLeast(0)
      .max(65535, { error: 'a port number from 0 to 65535' })
      .describe('TCP port of the admin HTTP server (/metrics, /healthz, /readyz); 0 = any free port.'),
    host: z
      .string({ error: 'a host name or IP address' })
      .min(1, { error: 'a host name or IP address' })
      .default('127.0.0.1')
      .describe('Address the admin server listens on.'),
  })
  .describe('Admin HTTP server. Absent: no admin server.');

const shutdownSchema = z
  .strictObject({
    timeout: duration
      .prefault('30s')
      .describe(
        'How long a graceful shutdown may take to drain mailboxes and flush sinks before exiting anyway.',
      ),
  })
  .transform(({ timeout }) => ({ timeoutMs: timeout }))
  .describe('Graceful shutdown on SIGINT/SIGTERM.');

const supervisionSchema = z
  .strictObject({
    maxRestarts: integerAtLeast(0).default(5).describe('Restarts an actor may have within `within`.'),
    within: duration.prefault('1m').describe('Sliding time span in which restarts are counted.'),
  })
  .transform(({ maxRestarts, within }) => ({ maxRestarts, withinMs: within }))
  .describe('Restart policy for failing actors; past the limit the process stops with an error.');

const stateSchema = z
  .strictObject({
    dir: filePath
      .optional()
      .describe(
        'Folder of the partition state (LevelDB) and snapshot files. Absent: ./.sluice/<name> beside the topology file.',
      ),
    memory: byteSize
      .refine((bytes) => bytes > 0, { error: 'a size greater than zero' })
      .prefault('512MiB')
      .describe(
        'Budget for open-window state held in memory per process, shared evenly by the workers and their partitions. Past it, the least recently used key groups of every window (tumbling, hopping and session, with or without enrich and transform) are evicted to the state store after a checkpoint and read back when an event or a firing needs them.',
      ),
  })
  .describe('Where partition state lives, and how much of it stays in memory.');

const checkpointSchema = z
  .strictObject({
    interval: positiveDuration
      .prefault('10s')
      .describe(
        'Time between checkpoints of each partition (also taken on shutdown and on partition revoke).',
      ),
    keep: integerAtLeast(1).default(3).describe('Snapshot files kept per partition.'),
    snapshotEvery: integerAtLeast(1)
      .default(6)
      .describe('Write a snapshot file every this many checkpoints (and on shutdown).'),
  })
  .transform(({ interval, ...rest }) => ({ ...rest, intervalMs: interval }))
  .describe(
    'Checkpoints: each one atomically stores window state, watermark, source position and sink positions.',
  );

export const topologySchema = z
  .strictObject({
    name: identifier.describe(`Name of the pipeline (${IDENTIFIER_EXPECTED}); labels metrics and logs.`),
    workers: integerAtLeast(1)
      .optional()
      .transform((workers) => workers ?? availableParallelism())
      .describe('Worker threads that host partition actors. Absent: one per CPU core.'),
    admin: adminSchema.optional(),
    status: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe(
        'Show a live one-line status in the terminal (events/s, watermark lag, windows, late events).',
      ),
    shutdown: shutdownSchema.prefault({}),
    supervision: supervisionSchema.prefault({}),
    mailbox: z
      .strictObject({
        capacity: integerAtLeast(1)
          .default(64)
          .describe('Batches a mailbox holds before its senders wait (back-pressure).'),
      })
      .prefault({})
      .describe('Bounded actor mailboxes.'),
    batch: z
      .strictObject({
        size: integerAtLeast(1).default(1000).describe('Events per batch read from a source.'),
      })
      .prefault({})
      .describe('Batching of source reads.'),
    state: stateSchema.prefault({}),
    checkpoint: checkpointSchema.prefault({}),
    sources: namedSection(sourceSchema, 'sources').describe('Where events come from, by name.'),
    tables: namedSection(lookupTableSchema, 'lookup tables')
      .default({})
      .describe(
        'Lookup tables materialized from CDC sources, by name; windows and streams `enrich:` events from them.',
      ),
    windows: namedSection(windowSchema, 'windows').default({}).describe('Windowed aggregations, by name.'),
    streams: namedSection(streamSchema, 'streams').default({}).describe('Un-windowed event routes, by name.'),
    sinks: namedSection(sinkSchema, 'sinks').describe('Where results go, by name.'),
    deadLetter: identifier
      .optional()
      .describe(
        'Sink for records that cannot be decoded or lack their time field. Absent: they are counted only.',
      ),
  })
  .describe('A sluice topology: sources, the windows and streams computed from them, and sinks.');

/** A loaded topology: durations in ms, paths absolute, aggregates parsed. */
export type Topology = Omit<z.output<typeof topologySchema>, 'state'> & {
  /** `state.dir` is resolved at load time (default ./.sluice/<name> beside the topology file). */
  state: { dir: string; memory: number };
  /** Absolute path of the topology file this was loaded from. */
  sourceFile: string;
};

/** The topology as written in the file, before defaults and unit conversion. */
export type TopologyInput = z.input<typeof topologySchema>;

export type SourceConfig = Topology['sources'][string];
export type FileSourceConfig = Extract<SourceConfig, { type: 'file' }>;
export type GeneratorSourceConfig = Extract<SourceConfig, { type: 'generator' }>;
export type KafkaSourceConfig = Extract<SourceConfig, { type: 'kafka' }>;
export type GatewaySourceConfig = Extract<SourceConfig, { type: 'gateway' }>;
export type CdcSourceConfig = Extract<SourceConfig, { type: 'cdc' }>;
export type LookupTableConfig = Topology['tables'][string];
export type WindowConfig = Topology['windows'][string];
export type WindowShape = WindowConfig['window'];
export type StreamConfig = Topology['streams'][string];
export type SinkConfig = Topology['sinks'][string];
export type FileSinkConfig = Extract<SinkConfig, { type: 'file' }>;
export type EventTimeConfig = SourceConfig['time'];

/** The topology schema as JSON Schema (draft 2020-12), describing what users write. */
export function topologyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(topologySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
