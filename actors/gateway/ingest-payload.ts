import { type DecodeFailureCode, describeType, isPlainObject } from '../codecs/decode-failure.ts';
import { decodeFrame } from '../codecs/frame.ts';
import { FRAME_MAGIC, readFrameHeader } from '../codecs/frame-header.ts';

/**
 * What a client message (WebSocket message or HTTP body) says: a batch of events and
 * the client's batch id. Accepted shapes: one JSON event `{...}`, a JSON array of
 * events, `{"id": "...", "events": [...]}`, or a binary sluice frame (its header's batch
 * id). Pure: bytes in, batch or reason out; never throws.
 */
export type IngestPayload =
  | { ok: true; id: string | null; events: unknown[] }
  | { ok: false; id: string | null; code: DecodeFailureCode | 'BATCH_INVALID'; reason: string };

const MAX_ID_LENGTH = 256;

/** A message is a frame when it is binary (WebSocket) or starts with the frame magic (HTTP). */
export function isFrame(bytes: Uint8Array, binary: boolean | null): boolean {
  if (binary !== null) return binary;
  return bytes.length >= FRAME_MAGIC.length && FRAME_MAGIC.equals(bytes.subarray(0, FRAME_MAGIC.length));
}

/** `message`: the bytes of a frame or of JSON text, or the JSON text itself. */
export function parseIngestPayload(message: Uint8Array | string, frame: boolean): IngestPayload {
  if (frame) {
    const decoded = decodeFrame(typeof message === 'string' ? Buffer.from(message) : message);
    if (!decoded.ok) return { ok: false, id: null, code: decoded.code, reason: decoded.reason };
    return { ok: true, id: decoded.batchId === '' ? null : decoded.batchId, events: decoded.events };
  }
  let value: unknown;
  try {
    value = JSON.parse(
      typeof message === 'string'
        ? message
        : Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('utf8'),
    );
  } catch (error) {
    return { ok: false, id: null, code: 'JSON_INVALID', reason: `invalid JSON: ${(error as Error).message}` };
  }
  if (Array.isArray(value)) return { ok: true, id: null, events: value };
  if (!isPlainObject(value)) {
    return {
      ok: false,
      id: null,
      code: 'JSON_NOT_OBJECT',
      reason: `expected an event, array or batch, got ${describeType(value)}`,
    };
  }
  if (!('events' in value)) return { ok: true, id: null, events: [value] };
  const id = value.id;
  const idText = typeof id === 'string' || typeof id === 'number' ? String(id) : null;
  if (id !== undefined && (idText === null || idText.length > MAX_ID_LENGTH)) {
    return {
      ok: false,
      id: null,
      code: 'BATCH_INVALID',
      reason: `batch id must be a string or number of at most ${MAX_ID_LENGTH} characters`,
    };
  }
  if (!Array.isArray(value.events)) {
    return {
      ok: false,
      id: idText,
      code: 'BATCH_INVALID',
      reason: `events must be an array, got ${describeType(value.events)}`,
    };
  }
  return { ok: true, id: idText, events: value.events };
}

/**
 * The client's batch id of a message that is refused before it is taken (over the
 * in-flight limit), so that the refusal still names it: a frame's header id, or the
 * `id` of a JSON batch; null when there is none or the message does not say.
 */
export function batchIdOf(message: Uint8Array | string, frame: boolean): string | null {
  if (!frame || typeof message === 'string') return parseIngestPayload(message, false).id;
  const header = readFrameHeader(message);
  return header.ok && header.batchId !== '' ? header.batchId : null;
}
