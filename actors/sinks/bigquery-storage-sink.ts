/**
 * The BigQuery sink with `api: storage-write`: exactly-once through the Storage Write API.
 * Each source partition writes into its own COMMITTED write stream, every row at a
 * deterministic offset (bigquery-stream-offsets.ts), and the sink is a two-phase sink of
 * the partition (actors/partition/sink-hooks.ts):
 *
 * 1. `receive`: the partition's rows are held until its next checkpoint (not yet written).
 * 2. The partition commits checkpoint N, recording those rows with it.
 * 3. `commit`: the rows are appended at offsets [next, next + n) of the partition's stream
 *    (created with its first rows, its name made durable in the stream record before any
 *    append), then the stream record moves to (N, next + n).
 * 4. `recover`, when the partition restores checkpoint K: the rows K recorded are appended
 *    again at their offsets unless the record says they are stored; offsets BigQuery
 *    already holds answer ALREADY_EXISTS and are skipped, so no row is stored twice. Rows
 *    after K were never appended (step 3 follows step 2); the partition replays them.
 *
 * This relies on BigQuery's append being atomic (rows stored iff the offset advanced); the
 * local emulator 1.4.0 is not when its DuckDB insert fails under concurrent calls (README).
 *
 * Rows become visible at checkpoints, like the transactional Kafka sink. Rows that cannot
 * be encoded go to the dead-letter output before they get an offset (the encoding is a
 * pure function of the row, so a replay skips the same rows). Rows reaching the sink
 * without an origin (dead letters forwarded by another sink) go through insertAll:
 * best-effort deduplication, as in the default mode.
 *
 * Threading model: a main-thread actor; its cell runs one hook at a time, so the map of
 * partition streams and their held rows are touched by one hook at a time only.
 * Life cycle: `start` opens the table (creating it when asked) and the write client;
 * partitions appear with their `recover`; `stop` closes the writers. A failed append is
 * refused to that partition's hook: it restarts from its checkpoint, whose `recover`
 * settles the rows. A restarted incarnation has lost the rows it held: it refuses hooks of
 * partitions it has not recovered, and they restart too.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { adapt, managedwriter } from '@google-cloud/bigquery-storage';
import * as grpc from '@grpc/grpc-js';
import type { Actor, ActorContext, ActorFactory } from '../../runtime/actor.ts';
import type { SinkWrite } from '../partition/partition-plan.ts';
import type { SinkHook, SinkHookReply } from '../partition/sink-hooks.ts';
import { type BigQuerySinkConfig, BigQueryTarget } from './bigquery-sink.ts';
import {
  type AppendAnswer,
  appendSkippingStored,
  planRecovery,
  type StreamRecord,
} from './bigquery-stream-offsets.ts';
import { type BigQueryField, bigQueryFields, toStorageRow } from './bigquery-table.ts';
import { convertLines, deadLetterRows, retryingSinkCall } from './sink-failures.ts';
import { BatchingSinkMetrics, countRows } from './sink-metrics.ts';

export interface BigQueryStorageSinkConfig extends BigQuerySinkConfig {
  /** gRPC endpoint of the Storage Write API, `host:port`; absent: Google Cloud. */
  storageEndpoint?: string;
  /** Plain-text gRPC (the local emulator). */
  insecure: boolean;
  /** The topology's state directory: the stream records live in `<stateDir>/bigquery-streams/`. */
  stateDir: string;
}

export const createBigQueryStorageSink: ActorFactory<BigQueryStorageSinkConfig, SinkWrite> = (config) =>
  new BigQueryStorageSink(config);

/** Rows and (JSON) bytes per AppendRows request; the API caps a request at 10 MB. */
const APPEND_ROWS = 10_000;
const APPEND_BYTES = 4 * 1024 * 1024;

/** gRPC codes worth a retry: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const RETRIABLE_GRPC = new Set([4, 8, 10, 13, 14]);

interface PartitionStream {
  record: StreamRecord | null;
  /** The checkpoint restored or last committed. */
  checkpoint: number;
  next: number;
  writes: SinkWrite[];
  writer: managedwriter.JSONWriter | null;
  failure: string | null;
}

type JsonRow = Parameters<managedwriter.JSONWriter['appendRows']>[0][number];
type AppendResponse = Awaited<ReturnType<ReturnType<managedwriter.JSONWriter['appendRows']>['getResult']>>;

class BigQueryStorageSink implements Actor<SinkWrite> {
  readonly #config: BigQueryStorageSinkConfig;
  readonly #metrics: BatchingSinkMetrics;
  readonly #fields: BigQueryField[];
  readonly #table: BigQueryTarget;
  readonly #partitions = new Map<string, PartitionStream>();
  readonly #parent: string;
  #client: managedwriter.WriterClient | null = null;

  constructor(config: BigQueryStorageSinkConfig) {
    this.#config = config;
    this.#metrics = new BatchingSinkMetrics(config.name);
    this.#fields = bigQueryFields(config.shape);
    this.#table = new BigQueryTarget(config);
    this.#parent = `projects/${config.projectId}/datasets/${config.dataset}/tables/${config.table}`;
  }

  async start(ctx: ActorContext): Promise<void> {
    await this.#retrying(ctx, 'open', () => this.#table.open(ctx));
    const endpoint = this.#config.storageEndpoint;
    const [host, port] = endpoint === undefined ? [undefined, undefined] : splitEndpoint(endpoint);
    this.#client = new managedwriter.WriterClient({
      projectId: this.#config.projectId,
      ...(host === undefined ? {} : { apiEndpoint: host, port }),
      ...(this.#config.insecure ? { sslCreds: grpc.credentials.createInsecure() } : {}),
    });
  }

  async receive(write: SinkWrite, ctx: ActorContext): Promise<void> {
    const origin = write.origin?.partition;
    if (origin === undefined) {
      await this.#insertUntracked(write, ctx);
      return;
    }
    const partition = this.#partitions.get(origin);
    // Not recovered by this incarnation, or failed: its next hook is refused and it replays these rows.
    if (partition === undefined || partition.failure !== null) return;
    partition.writes.push(write);
  }

  async request(kind: string, payload: unknown, ctx: ActorContext): Promise<SinkHookReply | undefined> {
    if (kind === 'sync') return undefined;
    const hook = payload as SinkHook;
    if (hook.kind !== kind) throw new Error(`bigquery sink ${this.#config.name}: unknown request ${kind}`);
    if (hook.kind === 'recover') return this.#recover(hook, ctx);
    const partition = this.#partitions.get(hook.partition);
    if (partition === undefined) return 'this sink has not recovered the partition (the sink restarted)';
    if (hook.kind === 'commit' && partition.failure === null) {
      await this.#commit(hook.partition, partition, hook.checkpoint, ctx);
    }
    return partition.failure;
  }

  async stop(): Promise<void> {
    for (const partition of this.#partitions.values()) partition.writer?.close();
    this.#partitions.clear();
    this.#client?.close();
  }

  async #recover(hook: Extract<SinkHook, { kind: 'recover' }>, ctx: ActorContext): Promise<SinkHookReply> {
    this.#partitions.get(hook.partition)?.writer?.close();
    this.#partitions.delete(hook.partition);
    try {
      let record = await readRecord(this.#recordPath(hook.partition));
      if (hook.checkpoint === 0 && record !== null) {
        // The partition starts over without a checkpoint: the old stream's rows belong to a
        // history that is gone; forget it now so that a later restore is not held against it.
        await rm(this.#recordPath(hook.partition), { force: true });
        record = null;
      }
      const pending = hook.pending === null ? [] : await this.#rows(hook.pending, ctx, false);
      const usable = record === null || (await this.#streamUsable(record.stream, ctx));
      const plan = planRecovery(record, hook.checkpoint, pending.length, usable);
      if (plan.kind === 'refuse') return plan.reason;
      const partition: PartitionStream = {
        record: plan.stream === null ? null : record,
        checkpoint: hook.checkpoint,
        next: plan.offset,
        writes: [],
        writer: null,
        failure: null,
      };
      if (plan.appendPending) {
        const skipped = await this.#append(hook.partition, partition, pending, hook.checkpoint, ctx);
        ctx.log.info('bigquery rows of the restored checkpoint settled', {
          sink: this.#config.name,
          partition: hook.partition,
          checkpoint: hook.checkpoint,
          rows: pending.length,
          alreadyStored: skipped,
        });
      }
      this.#partitions.set(hook.partition, partition);
      return null;
    } catch (error) {
      return `recovery failed: ${(error as Error).message}`;
    }
  }

  async #commit(origin: string, partition: PartitionStream, checkpoint: number, ctx: ActorContext) {
    const writes = partition.writes;
    partition.writes = [];
    try {
      let data = '';
      for (const write of writes) data += write.data;
      const rows = await this.#rows(data, ctx, true);
      if (rows.length > 0) await this.#append(origin, partition, rows, checkpoint, ctx);
      partition.checkpoint = checkpoint;
      for (const write of writes) countRows(ctx.metrics, this.#config.name, write);
    } catch (error) {
      partition.failure = `append failed: ${(error as Error).message}`;
      partition.writer?.close();
      partition.writer = null;
      ctx.log.warn('bigquery append failed; the partition restarts from its checkpoint', {
        sink: this.#config.name,
        partition: origin,
        error: (error as Error).message,
      });
      this.#metrics.failed(ctx.metrics, 'append', 'BIGQUERY_APPEND');
    }
  }

  /** Appends the rows of `checkpoint` at `partition.next`, skipping stored offsets; records the new end. */
  async #append(
    origin: string,
    partition: PartitionStream,
    rows: JsonRow[],
    checkpoint: number,
    ctx: ActorContext,
  ): Promise<number> {
    const client = this.#requireClient();
    if (partition.record === null) {
      const stream = await this.#retrying(ctx, 'create stream', () =>
        client.createWriteStream({
          streamType: managedwriter.CommittedStream,
          destinationTable: this.#parent,
        }),
      );
      // Durable before the first append: a restore must find the stream that holds the rows.
      partition.record = { stream, checkpoint: partition.checkpoint, next: partition.next };
      await writeRecord(this.#recordPath(origin), partition.record);
    }
    const stream = partition.record.stream;
    let skipped = 0;
    for (const [from, to] of chunks(rows)) {
      const chunk = rows.slice(from, to);
      skipped += await appendSkippingStored(chunk.length, partition.next + from, (start, end, offset) =>
        this.#retrying(ctx, 'append', () =>
          this.#appendAt(partition, stream, chunk.slice(start, end), offset),
        ),
      );
    }
    partition.next += rows.length;
    partition.record = { stream, checkpoint, next: partition.next };
    await writeRecord(this.#recordPath(origin), partition.record);
    return skipped;
  }

  async #appendAt(
    partition: PartitionStream,
    stream: string,
    rows: JsonRow[],
    offset: number,
  ): Promise<AppendAnswer> {
    if (partition.writer === null) {
      const connection = await this.#requireClient().createStreamConnection({ streamId: stream });
      const descriptor = adapt.convertStorageSchemaToProto2Descriptor(
        adapt.convertBigQuerySchemaToStorageTableSchema({ fields: this.#fields }),
        'row',
      );
      partition.writer = new managedwriter.JSONWriter({ connection, protoDescriptor: descriptor });
    }
    let response: AppendResponse;
    try {
      response = await partition.writer.appendRows(rows, offset).getResult();
    } catch (error) {
      partition.writer.close();
      partition.writer = null;
      throw error;
    }
    const code = response.error?.code ?? 0;
    if (code === 0 && (response.rowErrors?.length ?? 0) === 0) return 'ok';
    if (code === 6) return 'already-exists';
    if (code === 11) return 'out-of-range';
    const rowError = response.rowErrors?.[0];
    const reason = rowError
      ? `row ${rowError.index}: ${rowError.message}`
      : (response.error?.message ?? `gRPC code ${code}`);
    throw Object.assign(new Error(`AppendRows at offset ${offset} failed: ${reason}`), { code });
  }

  async #streamUsable(stream: string, ctx: ActorContext): Promise<boolean> {
    const client = this.#requireClient();
    try {
      const info = await this.#retrying(ctx, 'get stream', () => client.getWriteStream({ streamId: stream }));
      return info.commitTime === null || info.commitTime === undefined;
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      if (code === 3 || code === 5) return false;
      throw error;
    }
  }

  /** The storage rows of JSON lines; lines that cannot be encoded go to the dead-letter output once. */
  async #rows(data: string, ctx: ActorContext, deadLetter: boolean): Promise<JsonRow[]> {
    const { converted, rejected } = convertLines(
      data,
      'SINK_BAD_ROW',
      (line) => toStorageRow(this.#fields, JSON.parse(line) as Record<string, unknown>) as JsonRow,
    );
    if (deadLetter) await deadLetterRows(ctx, this.#config, this.#metrics, rejected);
    return converted;
  }

  async #insertUntracked(write: SinkWrite, ctx: ActorContext): Promise<void> {
    const lines = write.data.split('\n').filter((line) => line !== '');
    const rejected = await this.#retrying(ctx, 'write', () => this.#table.write(lines));
    if (rejected.length > 0) {
      ctx.log.warn('bigquery sink rejected forwarded rows', {
        sink: this.#config.name,
        rows: rejected.length,
        reason: rejected[0]?.reason,
      });
    }
    countRows(ctx.metrics, this.#config.name, write);
  }

  #recordPath(partition: string): string {
    return join(
      this.#config.stateDir,
      'bigquery-streams',
      encodeURIComponent(this.#config.name),
      `${encodeURIComponent(partition)}.json`,
    );
  }

  #requireClient(): managedwriter.WriterClient {
    if (this.#client === null) throw new Error(`bigquery sink ${this.#config.name} used before start`);
    return this.#client;
  }

  #retrying<T>(ctx: ActorContext, what: string, operation: () => Promise<T>): Promise<T> {
    return retryingSinkCall(ctx, this.#config, this.#metrics, what, operation, isRetriableStorageError);
  }
}

/** Our own retriable errors, errors without a code (network) and the retriable gRPC codes. */
function isRetriableStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    (error as { retriable?: unknown }).retriable === true ||
    code === undefined ||
    (typeof code === 'number' && RETRIABLE_GRPC.has(code))
  );
}

/** [from, to) ranges of at most APPEND_ROWS rows and about APPEND_BYTES bytes. */
function chunks(rows: readonly JsonRow[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let from = 0;
  let bytes = 0;
  for (let index = 0; index < rows.length; index++) {
    const size = JSON.stringify(rows[index]).length;
    if (index > from && (index - from >= APPEND_ROWS || bytes + size > APPEND_BYTES)) {
      ranges.push([from, index]);
      from = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (from < rows.length) ranges.push([from, rows.length]);
  return ranges;
}

function splitEndpoint(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon), Number(endpoint.slice(colon + 1))];
}

export async function readRecord(path: string): Promise<StreamRecord | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const record = JSON.parse(text) as StreamRecord;
  if (
    typeof record.stream !== 'string' ||
    !Number.isInteger(record.next) ||
    !Number.isInteger(record.checkpoint)
  )
    throw new Error(`stream record ${path} is damaged: ${text.slice(0, 200)}`);
  return record;
}

/** Replaces the record atomically and durably (write, fsync, rename, fsync the directory). */
export async function writeRecord(path: string, record: StreamRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(JSON.stringify(record));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
