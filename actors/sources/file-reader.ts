/**
 * Reads a file source: JSON lines, decoded and routed by the murmur2 hash of the key to
 * the partition actors that own them, in batches. Reading waits whenever a partition's
 * mailbox is full, so a slow pipeline slows the reader instead of buffering the file.
 *
 * A record that cannot be decoded (or routed: no key while the source has several
 * partitions) travels to partition 0 as a failure at its place in the order, so that
 * the partition writes its dead letter in order with everything else.
 *
 * After a restart each partition resumes after the last line its checkpoint covers: the
 * file is read from the start and the lines a partition already processed are skipped.
 *
 * Threading model: runs on the main thread as one async loop per file source.
 */
import { open } from 'node:fs/promises';
import type { ActorRef } from '../../runtime/actor.ts';
import { type JsonLineRecord, JsonLinesDecoder } from '../codecs/json-lines.ts';
import { partitionForKey } from '../codecs/murmur2.ts';
import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';
import type { PartitionMessage } from '../partition/partition-plan.ts';

export interface FileReaderOptions {
  path: string;
  keyField: string;
  batchSize: number;
  partitions: readonly ActorRef<PartitionMessage>[];
  /**
   * Per partition, the last line it has already processed (restored from its checkpoint);
   * lines up to it are read again but not sent. null: nothing processed yet.
   */
  resumeAfter: ReadonlyArray<number | null>;
  /** Stops reading at the next chunk; the partitions then get no `end`. */
  signal: AbortSignal;
}

type RecordsMessage = Extract<PartitionMessage, { kind: 'records' }>;

const chunkBytes = 256 * 1024;

/** The bytes Kafka's default partitioner would hash for this key value. */
export function keyText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Reads the whole file, then sends `end` to every partition. Resolves when all is handed over. */
export async function readFileSource(options: FileReaderOptions): Promise<void> {
  const { partitions, batchSize, keyField, signal } = options;
  const batches: RecordsMessage[] = partitions.map(() => emptyBatch());
  const send = async (partition: number) => {
    const batch = batches[partition];
    if (batch.events.length === 0) return;
    batches[partition] = emptyBatch();
    await partitions[partition].tell(batch);
  };
  const route = async (record: JsonLineRecord) => {
    let partition = 0;
    let failure: DecodeFailureRecord | null = null;
    if (record.kind === 'dead') {
      failure = { code: record.code, reason: record.reason, raw: record.raw.toString('utf8') };
    } else if (partitions.length > 1) {
      const key = keyText(record.event[keyField]);
      if (key === null) {
        failure = {
          code: 'KEY_MISSING',
          reason: `field ${keyField}: missing key`,
          raw: JSON.stringify(record.event),
        };
      } else partition = partitionForKey(key, partitions.length);
    }
    const done = options.resumeAfter[partition];
    if (done !== null && record.line <= done) return;
    const batch = batches[partition];
    if (failure !== null) batch.failures.push([batch.events.length, failure]);
    batch.events.push(failure === null && record.kind === 'event' ? record.event : null);
    batch.positions.push(record.line);
    if (batch.events.length >= batchSize) await send(partition);
  };

  const decoder = new JsonLinesDecoder();
  const file = await open(options.path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      if (signal.aborted) return;
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      for (const record of decoder.push(buffer.subarray(0, bytesRead))) await route(record);
    }
    for (const record of decoder.end()) await route(record);
  } finally {
    await file.close();
  }
  for (let partition = 0; partition < partitions.length; partition++) await send(partition);
  for (const ref of partitions) await ref.tell({ kind: 'end' });
}

function emptyBatch(): RecordsMessage {
  return { kind: 'records', events: [], positions: [], failures: [] };
}
