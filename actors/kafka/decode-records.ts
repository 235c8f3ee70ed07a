/**
 * Decoding of fetched Kafka messages, run in the worker that owns the partition. Never
 * throws: a message that cannot become events (bad JSON, bad msgpack, a damaged frame, a
 * value that is not a map, a tombstone) becomes a failure carrying topic, partition,
 * offset, reason and raw bytes, at its place in the order, for the dead-letter output.
 *
 * Output shape is the one the partition actor consumes for files: `events[i]` is null
 * exactly where `failures` holds index i, and `positions[i]` is the offset event i came
 * from (a frame yields many events with the same offset).
 */

import type { FieldProjector, ProjectedFormat } from '../../native/field-projection.ts';
import type { NativeBatch } from '../../native/native-batch.ts';
import type { NativeFrameAggregator } from '../../native/native-frame-aggregator.ts';
import type { DecodeFailureCode } from '../codecs/decode-failure.ts';
import { decodeFrame } from '../codecs/frame.ts';
import { decodeJsonEvent } from '../codecs/json-event.ts';
import { decodeMsgpackEvent } from '../codecs/msgpack-event.ts';
import { type KafkaRecordBatch, type PackedKafkaBatch, unpackKafkaBatch } from './kafka-batch.ts';
import { DEAD_LETTER_HEADERS } from './raw-record-batches.ts';

export type KafkaFormat = 'json' | 'msgpack' | 'frame';

/**
 * Codes a Kafka record can fail with: the codec codes plus the tombstone, and the codes a
 * sluice producer may put on a record it writes as a dead letter (`FORWARDED_CODES`).
 */
export type KafkaDecodeFailureCode =
  | DecodeFailureCode
  | 'KAFKA_NULL_VALUE'
  | 'KEY_MISSING'
  | 'TIME_INVALID'
  | 'BATCH_INVALID'
  | 'DEAD_LETTER_CODE_UNKNOWN';

/**
 * The codes a record's dead-letter headers may name (what the `forward: kafka` gateway
 * refuses input with). Any other code in the headers is not trusted as a label: the record
 * is then reported under DEAD_LETTER_CODE_UNKNOWN with the header's code in its reason.
 */
const FORWARDED_CODES: ReadonlySet<string> = new Set<KafkaDecodeFailureCode>([
  'JSON_INVALID',
  'JSON_NOT_OBJECT',
  'LINE_TOO_LONG',
  'MSGPACK_INVALID',
  'MSGPACK_NOT_OBJECT',
  'FRAME_TRUNCATED',
  'FRAME_BAD_MAGIC',
  'FRAME_UNKNOWN_VERSION',
  'FRAME_UNKNOWN_CODEC',
  'FRAME_BAD_HEADER',
  'FRAME_TOO_LARGE',
  'FRAME_HEADER_CRC_MISMATCH',
  'FRAME_PAYLOAD_CRC_MISMATCH',
  'FRAME_TRAILING_BYTES',
  'FRAME_DECOMPRESSION_FAILED',
  'FRAME_PAYLOAD_INVALID',
  'FRAME_COUNT_MISMATCH',
  'KEY_MISSING',
  'TIME_INVALID',
  'BATCH_INVALID',
]);

export interface KafkaDecodeFailure {
  code: KafkaDecodeFailureCode;
  reason: string;
  /** The message value: UTF-8 text for `json`, base64 for `msgpack` and `frame`, '' for a null value. */
  raw: string;
  topic: string;
  partition: number;
  offset: string;
}

export interface DecodedRecords {
  events: Array<Record<string, unknown> | null>;
  positions: string[];
  failures: Array<[index: number, failure: KafkaDecodeFailure]>;
  /** Where to resume after this batch (last offset + 1): the source position to checkpoint. */
  nextOffset: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

export function decodeKafkaRecords(format: KafkaFormat, batch: KafkaRecordBatch): DecodedRecords {
  const out: DecodedRecords = { events: [], positions: [], failures: [], nextOffset: batch.nextOffset };
  const { topic, partition, offsets, values } = batch;
  // Frames' events wait here and join `out` with one concat (a per-event push costs about
  // as much as the rest of the copy), before a failure takes its place and at the end.
  const frames: FrameEvents = { chunks: [], offsets: [] };
  const fail = (offset: string, code: KafkaDecodeFailureCode, reason: string, raw: string) => {
    joinFrameEvents(out, frames);
    out.failures.push([out.events.length, { code, reason, raw, topic, partition, offset }]);
    out.events.push(null);
    out.positions.push(offset);
  };
  const { deadLetters } = batch;
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    const offset = offsets[index];
    const mark = deadLetters?.get(index);
    if (mark !== undefined) {
      // A dead letter a sluice producer wrote: its own code and reason, its value as text.
      const raw = value === null ? '' : lenientUtf8.decode(value);
      if (FORWARDED_CODES.has(mark.code)) fail(offset, mark.code as KafkaDecodeFailureCode, mark.reason, raw);
      else
        fail(
          offset,
          'DEAD_LETTER_CODE_UNKNOWN',
          `dead letter with unknown code ${JSON.stringify(mark.code.slice(0, 64))}: ${mark.reason}`,
          raw,
        );
      continue;
    }
    if (value === null) {
      fail(offset, 'KAFKA_NULL_VALUE', 'message value is null (a tombstone), expected an event', '');
      continue;
    }
    if (format === 'json') {
      let text: string;
      try {
        text = utf8.decode(value);
      } catch {
        fail(offset, 'JSON_INVALID', 'invalid JSON: value is not valid UTF-8', base64(value));
        continue;
      }
      const result = decodeJsonEvent(text);
      if ('event' in result) {
        out.events.push(result.event);
        out.positions.push(offset);
      } else fail(offset, result.code, result.reason, text);
    } else if (format === 'msgpack') {
      const result = decodeMsgpackEvent(value);
      if ('event' in result) {
        out.events.push(result.event);
        out.positions.push(offset);
      } else fail(offset, result.code, result.reason, base64(value));
    } else {
      const frame = decodeFrame(value);
      if (!frame.ok) {
        fail(offset, frame.code, frame.reason, base64(value));
        continue;
      }
      frames.chunks.push(frame.events);
      frames.offsets.push(offset);
    }
  }
  joinFrameEvents(out, frames);
  return out;
}

/**
 * The events of a packed batch (messages of the projector's format: `json`, `msgpack` or
 * `frame`) holding only `projector`'s fields, in record order — or null, and the
 * batch is then decoded by `decodeKafkaRecords`: the projector refused a message, or the
 * batch holds a tombstone, a dead-letter record or a gzip record batch. Where it
 * answers, each event's fields read as on the event `decodeKafkaRecords` would make.
 */
export function projectKafkaRecords(
  projector: FieldProjector,
  packed: PackedKafkaBatch,
): Array<Record<string, unknown>> | null {
  if (packed.fromOffset !== undefined) {
    return projector.projectRecordBatches(
      new Uint8Array(packed.buffer),
      packed.fromOffset,
      DEAD_LETTER_HEADERS.code,
    );
  }
  const batch = unpackKafkaBatch(packed);
  return batch.deadLetters === undefined ? projector.project(batch.values) : null;
}

/**
 * The events of a Kafka batch — sluice frames, or one JSON or msgpack event per message —
 * pre-aggregated natively for one tumbling or hopping window against `watermark`
 * (`NativeFrameAggregator`), with the refusals of `projectKafkaRecords`; null for a batch
 * not handed over as raw record batches.
 */
export function aggregateKafkaRecords(
  aggregator: NativeFrameAggregator,
  packed: PackedKafkaBatch,
  format: ProjectedFormat,
  watermark: number,
): NativeBatch | null {
  if (packed.fromOffset === undefined) return null;
  return aggregator.aggregateRecordBatches(
    new Uint8Array(packed.buffer),
    packed.fromOffset,
    DEAD_LETTER_HEADERS.code,
    format,
    watermark,
  );
}

/** Decoded frames not yet in the output: each frame's events and its message offset. */
interface FrameEvents {
  chunks: Array<Record<string, unknown>[]>;
  offsets: string[];
}

/** Moves the waiting frames' events to the end of `out`, each at its frame message's offset. */
function joinFrameEvents(out: DecodedRecords, frames: FrameEvents): void {
  const { chunks, offsets } = frames;
  if (chunks.length === 0) return;
  if (out.events.length === 0) {
    out.events =
      chunks.length === 1 ? chunks[0] : ([] as Array<Record<string, unknown> | null>).concat(...chunks);
    out.positions = new Array<string>(out.events.length);
    let at = 0;
    for (let chunk = 0; chunk < chunks.length; chunk++) {
      out.positions.fill(offsets[chunk], at, at + chunks[chunk].length);
      at += chunks[chunk].length;
    }
  } else {
    for (let chunk = 0; chunk < chunks.length; chunk++) {
      for (const event of chunks[chunk]) {
        out.events.push(event);
        out.positions.push(offsets[chunk]);
      }
    }
  }
  chunks.length = 0;
  offsets.length = 0;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
