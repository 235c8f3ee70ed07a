import type { ProjectedFormat } from './field-projection.ts';
import type { FrameSpec, NativeBatch } from './native-batch.ts';
import { fallbackBatch } from './twin/aggregate-events.ts';

/** The addon's `FrameAggregator` (`src/lib.rs`): one per window spec. */
export interface FrameAggregatorHandle {
  /** Writes the batch into the buffers (layout below); returns its text values or the fallback code. */
  aggregate(
    frame: Uint8Array,
    watermark: number,
    floats: Float64Array,
    ints: Int32Array,
    sizes: Uint32Array,
  ): string;
  /** The same for every event in the records of whole Kafka record batches, as one batch. */
  aggregateRecordBatches(
    bytes: Uint8Array,
    fromOffset: number,
    deadLetterHeader: string,
    format: ProjectedFormat,
    watermark: number,
    floats: Float64Array,
    ints: Int32Array,
    sizes: Uint32Array,
  ): string;
  /** The same for one JSON or msgpack event per message: message i is bytes[bounds[2i], bounds[2i + 1]). */
  aggregateMessagesIn(
    bytes: Uint8Array,
    bounds: Uint32Array,
    format: 'json' | 'msgpack',
    watermark: number,
    floats: Float64Array,
    ints: Int32Array,
    sizes: Uint32Array,
  ): string;
}

export type FrameAggregatorClass = new (spec: FrameSpec) => FrameAggregatorHandle;

/** `sizes[0]`: the batch was written; the text is a fallback code; the buffers are too small. */
const WRITTEN = 0;
const FALLBACK = 1;
const TOO_SMALL = 2;
/** `sizes` entries before the per-column value counts. */
const SIZES_HEAD = 10;

/**
 * Buffers the addon writes batches into, shared by every aggregator of this thread and
 * grown on demand. A batch read from them is views, valid until the next `aggregate`
 * call on this thread: a partition plays each batch into its operator before the next.
 */
let floats = new Float64Array(1 << 16);
let ints = new Int32Array(1 << 16);
let uints = new Uint32Array(ints.buffer);

function grow(needFloats: number, needInts: number): void {
  if (needFloats > floats.length) floats = new Float64Array(needFloats * 2);
  if (needInts > ints.length) {
    ints = new Int32Array(needInts * 2);
    uints = new Uint32Array(ints.buffer);
  }
}

/** Consecutive views off the shared buffers, and the batch's text values in order. */
class BatchReader {
  private f = 0;
  private i = 0;
  private textAt = 0;

  constructor(private readonly text: string) {}

  floats(length: number): Float64Array {
    this.f += length;
    return floats.subarray(this.f - length, this.f);
  }

  ints(length: number): Int32Array {
    this.i += length;
    return ints.subarray(this.i - length, this.i);
  }

  uints(length: number): Uint32Array {
    this.i += length;
    return uints.subarray(this.i - length, this.i);
  }

  /** Values from kinds (0 null, 1 false, 2 true, 3 number, 4 string), then their numbers. */
  scalars(length: number): unknown[] {
    const kinds = this.ints(length);
    const numbers = this.floats(length);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const kind = kinds[i];
      if (kind === 4) {
        const end = numbers[i];
        out[i] = this.text.slice(this.textAt, end);
        this.textAt = end;
      } else out[i] = kind === 3 ? numbers[i] : kind === 0 ? null : kind === 2;
    }
    return out;
  }
}

/**
 * The addon's pre-aggregation for one window spec, read back from the shared buffers.
 * Layout (`write_batch` in `src/lib.rs`): floats hold times, marks, window starts, new
 * keys' numbers, then per column counts, numbers, values (and for first/last the held
 * values' numbers); ints hold steps, key ids, new keys' kinds, then per column offsets
 * (and for first/last the held values' kinds).
 */
export class NativeFrameAggregator {
  private readonly sizes: Uint32Array;
  /**
   * The addon writes one column per distinct (kind, field) — avg(x) and sum(x) share one
   * — in order of first use: `columnOf[c]` is aggregate c's, `kinds` theirs.
   */
  private readonly columnOf: number[];
  private readonly kinds: Array<FrameSpec['aggregates'][number]['kind']>;
  /** groupBy values per key id, kept from batch to batch as the addon keeps the ids. */
  private keyValues: unknown[] = [];

  constructor(
    private readonly handle: FrameAggregatorHandle,
    private readonly spec: FrameSpec,
  ) {
    this.sizes = new Uint32Array(SIZES_HEAD + spec.aggregates.length);
    const distinct: string[] = [];
    this.kinds = [];
    this.columnOf = spec.aggregates.map(({ kind, field }) => {
      const name = `${kind}/${field ?? ''}`;
      let column = distinct.indexOf(name);
      if (column < 0) {
        column = distinct.push(name) - 1;
        this.kinds.push(kind);
      }
      return column;
    });
  }

  aggregate(frame: Uint8Array, watermark: number): NativeBatch {
    return this.#read((sizes) => this.handle.aggregate(frame, watermark, floats, ints, sizes));
  }

  /**
   * Every event in the records of `bytes` (whole v2 record batches, as the kafka source
   * hands them to a worker) from `fromOffset` on, as one batch: sluice frames, or one JSON
   * or msgpack event per record. A fallback when the records hold anything the ordinary
   * reader must decide (see `FieldProjector`).
   */
  aggregateRecordBatches(
    bytes: Uint8Array,
    fromOffset: string,
    deadLetterHeader: string,
    format: ProjectedFormat,
    watermark: number,
  ): NativeBatch {
    const from = Number(fromOffset);
    if (!Number.isSafeInteger(from)) return fallbackBatch('UNSUPPORTED_RECORDS');
    return this.#read((sizes) =>
      this.handle.aggregateRecordBatches(
        bytes,
        from,
        deadLetterHeader,
        format,
        watermark,
        floats,
        ints,
        sizes,
      ),
    );
  }

  /**
   * One JSON or msgpack event per message, message i being `bytes[bounds[2i], bounds[2i + 1])`
   * (a file source's JSON lines), as one batch; a fallback for a message the field reader refuses.
   */
  aggregateMessages(
    bytes: Uint8Array,
    bounds: Uint32Array,
    format: 'json' | 'msgpack',
    watermark: number,
  ): NativeBatch {
    return this.#read((sizes) =>
      this.handle.aggregateMessagesIn(bytes, bounds, format, watermark, floats, ints, sizes),
    );
  }

  /** Runs `call` (again, with grown buffers, if they were too small) and reads its batch. */
  #read(call: (sizes: Uint32Array) => string): NativeBatch {
    const sizes = this.sizes;
    let text = call(sizes);
    if (sizes[0] === TOO_SMALL) {
      grow(sizes[8], sizes[9]);
      text = call(sizes);
    }
    if (sizes[0] === FALLBACK) return fallbackBatch(text);
    if (sizes[0] !== WRITTEN) throw new Error(`native aggregate: unexpected status ${sizes[0]}`);
    const [, count, steps, marks, partials, newKeyValues, keysReset, firstNewKey] = sizes;
    if (keysReset === 1) this.keyValues = [];
    const keyValues = this.keyValues;
    if (keyValues.length !== firstNewKey * this.spec.groupBy) {
      throw new Error(`native aggregate: new keys start at ${firstNewKey}, ${keyValues.length} values known`);
    }
    const read = new BatchReader(text);
    const times = read.floats(count);
    const batchMarks = read.floats(marks);
    const windowStarts = read.floats(partials);
    const batchSteps = read.ints(steps);
    const keyIds = read.uints(partials);
    for (const value of read.scalars(newKeyValues)) keyValues.push(value);
    const written = this.kinds.map((kind, c) => {
      const counts = read.floats(partials);
      const numbers = read.floats(partials);
      const values = read.floats(sizes[SIZES_HEAD + c]);
      const offsets = read.uints(partials + 1);
      const scalars = kind === 'first' || kind === 'last' ? read.scalars(partials) : [];
      return { counts, numbers, scalars, values, offsets };
    });
    const columns = this.columnOf.map((column) => written[column]);
    return {
      fallback: null,
      count,
      steps: batchSteps,
      marks: batchMarks,
      times,
      windowStarts,
      keyIds,
      keyValues,
      columns,
    };
  }
}
