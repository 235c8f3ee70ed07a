import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';
import { type GatewayReply, type RefusalReply, refusal } from './gateway-errors.ts';
import type { GatewayLog } from './gateway-log.ts';
import { parseIngestPayload } from './ingest-payload.ts';
import { encodeLogBatch } from './log-batch.ts';
import { routeEvents } from './route-events.ts';

/**
 * The one path every client batch takes, WebSocket or HTTP: parse, validate, route,
 * append each partition's part to the gateway log, and answer once every part is
 * durable. Refused input that carries data (malformed payload, invalid events) is
 * appended to partition 0's log as dead letters, so it reaches the dead-letter output
 * exactly once, in order, through the partition actor like everything else.
 *
 * Threading model: main thread. The bytes handed in must be the caller's own copy
 * (uWebSockets.js reuses its ArrayBuffers once the handler returns).
 */
export interface BatchIngesterOptions {
  log: GatewayLog;
  keyField: string;
  timeField: string;
  /** Asked with the event count of a parsed batch; false refuses it with 429. */
  admit?: (events: number) => boolean;
  /** Counts a refusal (metrics). */
  onRefusal?: (reply: RefusalReply) => void;
  onAccepted?: (events: number) => void;
  /** The log could not be written: the process cannot keep its promise of durability. */
  onFatal: (error: Error) => void;
}

/** The raw text of a refused payload kept in its dead letter (frames as base64), at most this long. */
const MAX_DEAD_LETTER_RAW = 64 * 1024;

export class BatchIngester {
  readonly #options: BatchIngesterOptions;
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: BatchIngesterOptions) {
    this.#options = options;
  }

  /** Batches appended and not yet durable. */
  get pending(): number {
    return this.#pending.size;
  }

  async ingest(
    bytes: Uint8Array,
    frame: boolean,
    admit?: (events: number) => boolean,
  ): Promise<GatewayReply> {
    const reply = await this.#ingest(bytes, frame, admit ?? this.#options.admit);
    if ('error' in reply) this.#options.onRefusal?.(reply);
    else this.#options.onAccepted?.(reply.count);
    return reply;
  }

  async #ingest(
    bytes: Uint8Array,
    frame: boolean,
    admit?: (events: number) => boolean,
  ): Promise<GatewayReply> {
    const { log, keyField, timeField } = this.#options;
    if (this.#closed) return refusal('UNAVAILABLE', null, 'the gateway is stopping');
    if (!log.hasRoom()) return refusal('GATEWAY_FULL', null, 'the gateway log is full; retry later');
    const payload = parseIngestPayload(bytes, frame);
    if (!payload.ok) {
      const raw = frame ? Buffer.from(bytes).toString('base64') : Buffer.from(bytes).toString('utf8');
      const code = payload.code === 'BATCH_INVALID' ? 'JSON_NOT_OBJECT' : payload.code;
      await this.#deadLetters([{ code, reason: payload.reason, raw: raw.slice(0, MAX_DEAD_LETTER_RAW) }]);
      return refusal('PAYLOAD_INVALID', payload.id, `${payload.code}: ${payload.reason}`);
    }
    if (admit !== undefined && !admit(payload.events.length)) {
      return refusal('RATE_LIMITED', payload.id, 'over the events-per-second limit');
    }
    const routed = routeEvents(payload.events, { keyField, timeField, partitions: log.partitions });
    if (!routed.ok) {
      await this.#deadLetters(routed.invalid.map(({ failure }) => failure));
      const first = routed.invalid[0];
      const message = `event ${first.index}: ${first.failure.reason} (${routed.invalid.length} invalid, batch refused)`;
      return refusal('EVENT_INVALID', payload.id, message);
    }
    const durable: Promise<void>[] = [];
    for (const [partition, events] of routed.parts) {
      durable.push(this.#append(partition, encodeLogBatch({ events, failures: [] })));
    }
    try {
      await Promise.all(durable);
    } catch (error) {
      return refusal('UNAVAILABLE', payload.id, `the gateway log failed: ${(error as Error).message}`);
    }
    return { ack: payload.id, count: routed.count };
  }

  async #deadLetters(failures: DecodeFailureRecord[]): Promise<void> {
    const batch = encodeLogBatch({
      events: failures.map(() => null),
      failures: failures.map((failure, index) => [index, failure]),
    });
    await this.#append(0, batch).catch(() => {});
  }

  #append(partition: number, payload: Uint8Array): Promise<void> {
    let durable: Promise<void>;
    try {
      durable = this.#options.log.append(partition, payload).durable;
    } catch (error) {
      this.#options.onFatal(error as Error);
      return Promise.reject(error);
    }
    const tracked = durable.catch((error: Error) => {
      this.#options.onFatal(error);
      throw error;
    });
    this.#pending.add(tracked);
    tracked.then(
      () => this.#pending.delete(tracked),
      () => this.#pending.delete(tracked),
    );
    return tracked;
  }

  /** Refuses new batches, then waits until every appended batch is durable (or failed). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }
}
