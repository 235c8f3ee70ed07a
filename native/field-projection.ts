/**
 * Messages — one JSON or msgpack event each, or sluice frames of many — read for only the
 * fields a topology uses, by the addon's `FieldProjector` (`src/lib.rs`, `core/src/json.rs`,
 * `core/src/msgpack.rs`, `core/src/frame.rs`): one call per batch instead of a
 * `JSON.parse`, msgpackr `unpack` or frame decode per message, and per event an object
 * holding just those fields.
 *
 * It answers only where its answer is the TS decoder's for those fields. A batch holding a
 * message it refuses (invalid JSON or msgpack, a damaged frame, not an object or map, a
 * wanted field holding an object, array or binary, a lone surrogate, a byte order mark,
 * ext types…) gets null,
 * and the caller decodes that batch the ordinary way, which decides exactly as it always
 * did. The TS twin of this path is that ordinary decoding: `createFieldProjector` gives
 * null when the addon is not loaded.
 */
import { type NativeAddon, nativeAddon } from './index.ts';

/** The message formats the projector reads: Kafka's `format: json`, `msgpack` and `frame`. */
export type ProjectedFormat = 'json' | 'msgpack' | 'frame';

/** What the addon's `FieldProjector.project` returns (see `FieldProjection` in `src/lib.rs`). */
export interface RawProjection {
  /** False when a message was refused: nothing else is filled then. */
  read: boolean;
  /** Events read (a frame holds many). */
  count: number;
  /** Per message and field: 0 missing, 1 null, 2 false, 3 true, 4 number, 5 string. */
  kinds: Uint8Array;
  /** The number, or for a string the UTF-16 offset where it ends in `text`. */
  numbers: Float64Array;
  text: string;
}

export interface NativeFieldProjector {
  project(bytes: Uint8Array, bounds: Uint32Array): RawProjection;
  projectRecordBatches(bytes: Uint8Array, fromOffset: number, deadLetterHeader: string): RawProjection;
}

/** The addon's class, as `NativeAddon` lists it. */
export type FieldProjectorClass = new (fields: string[], format: ProjectedFormat) => NativeFieldProjector;

type Build = (
  kinds: Uint8Array,
  numbers: Float64Array,
  text: string,
  count: number,
) => Array<Record<string, unknown>>;

/**
 * Whether `field` can be read alone: a name `Object.prototype` has (`__proto__`,
 * `toString`…) reads differently on a decoded object, where it is missing, than on an
 * object that names it, so such fields keep the ordinary path.
 */
function projectable(field: string): boolean {
  return !(field in Object.prototype);
}

/** Reads `fields` out of the events of messages of one format; see the module comment. */
export class FieldProjector {
  readonly fields: readonly string[];
  readonly format: ProjectedFormat;
  readonly #native: NativeFieldProjector;
  readonly #build: Build;

  constructor(addon: NativeAddon, fields: readonly string[], format: ProjectedFormat) {
    this.fields = fields;
    this.format = format;
    this.#native = new addon.FieldProjector([...fields], format);
    // One literal for every event: they all get the same hidden class. Field names enter
    // the source only as JSON string literals.
    const values = fields.map(
      (_, f) =>
        `k = kinds[b]; n = numbers[b++]; const v${f} = k === 4 ? n : k === 5 ? text.slice(at, at = n) : k === 1 ? null : k === 2 ? false : k === 3 ? true : undefined;`,
    );
    const literal = fields.map((field, f) => `${JSON.stringify(field)}: v${f}`).join(', ');
    this.#build = new Function(
      'kinds',
      'numbers',
      'text',
      'count',
      `const events = new Array(count);
      let at = 0, b = 0, k, n;
      for (let i = 0; i < count; i++) {
        ${values.join('\n        ')}
        events[i] = { ${literal} };
      }
      return events;`,
    ) as Build;
  }

  /**
   * The events of the messages in order (one per message, or a frame's events), holding
   * the wanted fields (a missing one reads undefined, as on a decoded event); null when a
   * message is null or refused.
   */
  project(values: ReadonlyArray<Uint8Array | null>): Array<Record<string, unknown>> | null {
    const count = values.length;
    if (count === 0) return [];
    if (values.includes(null)) return null;
    const messages = values as readonly Uint8Array[];
    const first = messages[0];
    const bounds = new Uint32Array(2 * count);
    let bytes: Uint8Array = new Uint8Array(first.buffer);
    let shared = true;
    for (let i = 0; i < count; i++) {
      const value = messages[i];
      if (value.buffer !== first.buffer) {
        shared = false;
        break;
      }
      bounds[2 * i] = value.byteOffset;
      bounds[2 * i + 1] = value.byteOffset + value.byteLength;
    }
    if (!shared) bytes = join(messages, bounds);
    return this.projectIn(bytes, bounds);
  }

  /** The same for messages in one buffer: message i is `bytes[bounds[2i], bounds[2i + 1])`. */
  projectIn(bytes: Uint8Array, bounds: Uint32Array): Array<Record<string, unknown>> | null {
    return this.#events(this.#native.project(bytes, bounds));
  }

  /**
   * The events of the records of `bytes` — whole v2 record batches back to back, as the kafka
   * source hands them to the worker (`readRecordBatches`) — from `fromOffset` on; null
   * when the batches hold anything the ordinary reader must decide (a gzip batch, a
   * tombstone, a dead-letter record named by `deadLetterHeader`) or a refused message.
   * LZ4 batches are decompressed natively.
   */
  projectRecordBatches(
    bytes: Uint8Array,
    fromOffset: string,
    deadLetterHeader: string,
  ): Array<Record<string, unknown>> | null {
    const from = Number(fromOffset);
    if (!Number.isSafeInteger(from)) return null;
    return this.#events(this.#native.projectRecordBatches(bytes, from, deadLetterHeader));
  }

  #events(raw: RawProjection): Array<Record<string, unknown>> | null {
    return raw.read ? this.#build(raw.kinds, raw.numbers, raw.text, raw.count) : null;
  }
}

/** Copies messages from several buffers into one, filling in their bounds. */
function join(values: readonly Uint8Array[], bounds: Uint32Array): Uint8Array {
  let total = 0;
  for (const value of values) total += value.byteLength;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    bytes.set(values[i], at);
    bounds[2 * i] = at;
    at += values[i].byteLength;
    bounds[2 * i + 1] = at;
  }
  return bytes;
}

/**
 * A projector of `fields` out of `format` messages when the addon is loaded and every
 * field can be read alone; otherwise null (the ordinary decoding serves).
 */
export function createFieldProjector(
  fields: readonly string[],
  format: ProjectedFormat,
  addon: NativeAddon | null = nativeAddon,
): FieldProjector | null {
  if (addon === null || fields.length === 0 || !fields.every(projectable)) return null;
  return new FieldProjector(addon, fields, format);
}
