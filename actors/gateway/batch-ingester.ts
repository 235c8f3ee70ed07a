import type { DecodeFailureRecord } from '../partition/partition-pipeline.ts';
import { type GatewayReply, IngestRefusal, type RefusalReply, refusal } from './gateway-errors.ts';
import { parseIngestPayload } from './ingest-payload.ts';
import type { IngestTarget } from './ingest-target.ts';
import { routeEvents } from './route-events.ts';

/**
 * The one path every client batch takes, WebSocket or HTTP: parse, validate, route,
 * append each partition's part to the durable target (the gateway log, or Kafka with
 * `forward`), and answer once every part is durable. Refused input that carries data
 * (malformed payload, invalid events) goes to the target as dead letters, so it reaches
 * the dead-letter output exactly once, in order, through the partition actor like
 * everything else.
 *
 * Threading model: main thread. The bytes handed in must be the caller's own copy
 * (uWebSockets.js reuses its ArrayBuffers once the handler returns).
 */
export interface BatchIngesterOptions {
  target: IngestTarget;
  keyField: string;
  timeField: string;
  /** Asked with the event count of a parsed batch; false refuses it with 429. */
  admit?: (events: number) => boolean;
  /** Counts a refusal (metrics). */
  onRefusal?: (reply: RefusalReply) => void;
  onAccepted?: (events: number) => void;
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

  /** `message`: a JSON text (a WebSocket text message, already decoded) or the bytes of a frame or HTTP body. */
  async ingest(
    message: Uint8Array | string,
    frame: boolean,
    admit?: (events: number) => boolean,
  ): Promise<GatewayReply> {
    const reply = await this.#ingest(message, frame, admit ?? this.#options.admit);
    if ('error' in reply) this.#options.onRefusal?.(reply);
    else this.#options.onAccepted?.(reply.count);
    return reply;
  }

  async #ingest(
    message: Uint8Array | string,
    frame: boolean,
    admit?: (events: number) => boolean,
  ): Promise<GatewayReply> {
    const { target, keyField, timeField } = this.#options;
    if (this.#closed) return refusal('UNAVAILABLE', null, 'the gateway is stopping');
    const payload = parseIngestPayload(message, frame);
    // Parsed first, so that a refusal for a full target still names the client's batch.
    const full = target.admission();
    if (full !== null) return { ...full, id: payload.id };
    if (!payload.ok) {
      const raw =
        typeof message === 'string' ? message : Buffer.from(message).toString(frame ? 'base64' : 'utf8');
      const code = payload.code === 'BATCH_INVALID' ? 'JSON_NOT_OBJECT' : payload.code;
      await this.#deadLetters([{ code, reason: payload.reason, raw: raw.slice(0, MAX_DEAD_LETTER_RAW) }]);
      return refusal('PAYLOAD_INVALID', payload.id, `${payload.code}: ${payload.reason}`);
    }
    if (admit !== undefined && !admit(payload.events.length)) {
      return refusal('RATE_LIMITED', payload.id, 'over the events-per-second limit');
    }
    const routed = routeEvents(payload.events, { keyField, timeField, partitions: target.partitions });
    if (!routed.ok) {
      await this.#deadLetters(routed.invalid.map(({ failure }) => failure));
      const first = routed.invalid[0];
      const message = `event ${first.index}: ${first.failure.reason} (${routed.invalid.length} invalid, batch refused)`;
      return refusal('EVENT_INVALID', payload.id, message);
    }
    try {
      await this.#track(target.append(routed.parts));
    } catch (error) {
      if (error instanceof IngestRefusal) return refusal(error.code, payload.id, error.message);
      return refusal('UNAVAILABLE', payload.id, `storing the batch failed: ${(error as Error).message}`);
    }
    return { ack: payload.id, count: routed.count };
  }

  async #deadLetters(failures: DecodeFailureRecord[]): Promise<void> {
    await this.#track(this.#options.target.deadLetters(failures)).catch(() => {});
  }

  /** Keeps `durable` in `pending` until it settles, so `close` can wait for it. */
  #track(durable: Promise<void>): Promise<void> {
    this.#pending.add(durable);
    durable.then(
      () => this.#pending.delete(durable),
      () => this.#pending.delete(durable),
    );
    return durable;
  }

  /** Refuses new batches, then waits until every appended batch is durable (or failed). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
  }
}
