/**
 * Reads a file source: JSON lines, routed by the murmur2 hash of the key to the partition
 * actors that own them, in batches. Reading waits whenever a partition's mailbox is full,
 * so a slow pipeline slows the reader instead of buffering the file.
 *
 * On the native path (the addon loaded, `SLUICE_NATIVE` not 0 when the job starts) the
 * reader sends the lines themselves (`lines` messages) and only reads each line's key, for
 * a whole chunk at once with the addon's field reader; the partition's worker decodes them
 * (natively when it can). A chunk the field reader refuses has its keys read by `JSON.parse`.
 * On the TS path it decodes every line and sends the events (`records` messages).
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
import { createFieldProjector, type FieldProjector } from '../../native/field-projection.ts';
import { nativeWanted } from '../../native/index.ts';
import type { ActorRef } from '../../runtime/actor.ts';
import {
  decodeJsonLine,
  type JsonLine,
  type JsonLineRecord,
  JsonLinesSplitter,
  type RawJsonLine,
} from '../codecs/json-lines.ts';
import { keyText, partitionForKey } from '../codecs/murmur2.ts';
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
type LinesMessage = Extract<PartitionMessage, { kind: 'lines' }>;

const chunkBytes = 256 * 1024;

/** Where a line goes: its partition, and the failure it is there (at partition 0), if any. */
interface Placement {
  partition: number;
  failure: DecodeFailureRecord | null;
}

/** A batch for one partition, filled line by line. */
interface Batch {
  readonly count: number;
  /** Adds a line: its decoded event (or null, on the lines path) or its failure. */
  add(line: RawJsonLine, event: Record<string, unknown> | null, failure: DecodeFailureRecord | null): void;
  message(): PartitionMessage;
}

/** Reads the whole file, then sends `end` to every partition. Resolves when all is handed over. */
export async function readFileSource(options: FileReaderOptions): Promise<void> {
  const { partitions, batchSize, keyField, signal } = options;
  const asLines = nativeWanted();
  const newBatch = (): Batch => (asLines ? new LinesBatch() : new RecordsBatch());
  // Keys are read natively only where routing needs them.
  const keys = asLines && partitions.length > 1 ? createFieldProjector([keyField], 'json') : null;
  const batches = partitions.map(newBatch);
  const send = async (partition: number) => {
    const batch = batches[partition];
    if (batch.count === 0) return;
    batches[partition] = newBatch();
    await partitions[partition].tell(batch.message());
  };
  /** Where a line with this key value goes (`event` gives the whole event for a dead letter). */
  const place = (key: unknown, event: () => unknown): Placement => {
    const text = keyText(key);
    if (text !== null) return { partition: partitionForKey(text, partitions.length), failure: null };
    const failure: DecodeFailureRecord = {
      code: 'KEY_MISSING',
      reason: `field ${keyField}: missing key`,
      raw: JSON.stringify(event()),
    };
    return { partition: 0, failure };
  };
  /** Routes the lines of one chunk; on the lines path their keys are read for the chunk at once. */
  const route = async (lines: RawJsonLine[]) => {
    const read = keys === null ? null : readKeys(keys, lines);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      let event: Record<string, unknown> | null = null;
      let placement: Placement = { partition: 0, failure: null };
      if (line.kind === 'dead') placement.failure = failureOf(line);
      else if (read !== null) placement = place(read[i], () => decodedEvent(line));
      else if (!asLines || partitions.length > 1) {
        const decoded = decodeJsonLine(line);
        if (decoded.kind === 'dead') placement.failure = failureOf(decoded);
        else {
          if (!asLines) event = decoded.event;
          if (partitions.length > 1) placement = place(decoded.event[keyField], () => decoded.event);
        }
      }
      const done = options.resumeAfter[placement.partition];
      if (done !== null && line.line <= done) continue;
      const batch = batches[placement.partition];
      batch.add(line, placement.failure === null ? event : null, placement.failure);
      if (batch.count >= batchSize) await send(placement.partition);
    }
  };

  const splitter = new JsonLinesSplitter();
  const file = await open(options.path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      if (signal.aborted) return;
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      await route(splitter.push(buffer.subarray(0, bytesRead)));
    }
    await route(splitter.end());
  } finally {
    await file.close();
  }
  for (let partition = 0; partition < partitions.length; partition++) await send(partition);
  for (const ref of partitions) await ref.tell({ kind: 'end' });
}

function failureOf(dead: Extract<JsonLineRecord, { kind: 'dead' }>): DecodeFailureRecord {
  return { code: dead.code, reason: dead.reason, raw: dead.raw.toString('utf8') };
}

/** A line the field reader took, decoded whole: an event (its text, if `JSON.parse` disagreed). */
function decodedEvent(line: JsonLine): unknown {
  const decoded = decodeJsonLine(line);
  return decoded.kind === 'event' ? decoded.event : line.bytes.toString('utf8');
}

/**
 * The key of every line of a chunk (undefined where a line has none; nothing for a dead
 * letter), read by the addon's field reader in one call (`FieldProjector.project`: in place
 * when the lines share the chunk's buffer); null when it refuses a line — the lines are
 * then decoded by `JSON.parse`, which decides exactly as it always did.
 */
function readKeys(keys: FieldProjector, lines: readonly RawJsonLine[]): unknown[] | null {
  const live = lines.filter((line) => line.kind === 'line');
  const events = keys.project(live.map((line) => line.bytes));
  if (events === null) return null;
  const field = keys.fields[0];
  const out = new Array<unknown>(lines.length);
  let e = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i].kind === 'line') out[i] = events[e++][field];
  return out;
}

/** The TS path's batch: decoded events. */
class RecordsBatch implements Batch {
  readonly #message: RecordsMessage = { kind: 'records', events: [], positions: [], failures: [] };

  get count(): number {
    return this.#message.events.length;
  }

  add(line: RawJsonLine, event: Record<string, unknown> | null, failure: DecodeFailureRecord | null): void {
    const message = this.#message;
    if (failure !== null) message.failures.push([message.events.length, failure]);
    message.events.push(event);
    message.positions.push(line.line);
  }

  message(): RecordsMessage {
    return this.#message;
  }
}

/** The native path's batch: the lines' bytes back to back (a failure's are left out). */
class LinesBatch implements Batch {
  #bytes = Buffer.allocUnsafe(64 * 1024);
  #used = 0;
  readonly #bounds: number[] = [];
  readonly #positions: number[] = [];
  readonly #failures: Array<[index: number, failure: DecodeFailureRecord]> = [];

  get count(): number {
    return this.#positions.length;
  }

  add(line: RawJsonLine, _event: unknown, failure: DecodeFailureRecord | null): void {
    if (failure !== null) this.#failures.push([this.#positions.length, failure]);
    this.#bounds.push(this.#used);
    if (failure === null && line.kind === 'line') {
      const need = this.#used + line.bytes.length;
      if (need > this.#bytes.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.#bytes.length));
        this.#bytes.copy(grown, 0, 0, this.#used);
        this.#bytes = grown;
      }
      this.#used += line.bytes.copy(this.#bytes, this.#used);
    }
    this.#bounds.push(this.#used);
    this.#positions.push(line.line);
  }

  message(): LinesMessage {
    return {
      kind: 'lines',
      bytes: new Uint8Array(this.#bytes.subarray(0, this.#used)),
      bounds: Uint32Array.from(this.#bounds),
      positions: this.#positions,
      failures: this.#failures,
    };
  }
}
