import { type DecodeFailureCode, decodeFailure } from './decode-failure.ts';
import { decodeJsonEvent } from './json-event.ts';

/** Where a line sits in its source: 1-based line number, byte offset of its start, and of the next line. */
export interface LinePosition {
  readonly line: number;
  readonly offset: number;
  /** The offset to resume from once this line is done: a file source checkpoints this. */
  readonly nextOffset: number;
}

export interface JsonLineEvent extends LinePosition {
  readonly kind: 'event';
  readonly event: Record<string, unknown>;
}

export interface JsonLineDeadLetter extends LinePosition {
  readonly kind: 'dead';
  readonly code: DecodeFailureCode;
  readonly reason: string;
  /** The line's bytes without its terminator, at most `maxLineBytes` of them. */
  readonly raw: Buffer;
}

export type JsonLineRecord = JsonLineEvent | JsonLineDeadLetter;

/** A line not yet decoded: its content, without terminator, a start-of-file BOM or a final CR. */
export interface JsonLine extends LinePosition {
  readonly kind: 'line';
  /** A view, valid until the next `push` (it may point into the caller's chunk). */
  readonly bytes: Buffer;
}

/** What `JsonLinesSplitter` yields: a line to decode, or a line too long to keep. */
export type RawJsonLine = JsonLine | JsonLineDeadLetter;

export interface JsonLinesOptions {
  /** Line number of the first line pushed (1 for a file read from its start). */
  startLine?: number;
  /** Byte offset of the first byte pushed; a UTF-8 BOM is skipped only at offset 0. */
  startOffset?: number;
  /** Longest line accepted, terminator excluded; longer ones become `LINE_TOO_LONG` dead letters. */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream of JSON lines into lines, each with its position, without decoding
 * them. Lines may be split across chunks at any byte; `\n` and `\r\n` both end a line; empty
 * and blank lines are skipped but still counted; a BOM at the very start of the stream is
 * skipped; a line longer than `maxLineBytes` is a `LINE_TOO_LONG` dead letter. Memory is
 * bounded: at most `maxLineBytes + 1` bytes of an unfinished line are kept, whatever the input.
 *
 * Threading model: not shared; one instance per source, used by one actor.
 */
export class JsonLinesSplitter {
  private readonly maxLineBytes: number;
  private readonly bomPossible: boolean;
  private line: number;
  private lineOffset: number;
  /** Kept bytes of the unfinished line (at most maxLineBytes + 1 in total). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** All bytes of the unfinished line, counting those not kept. */
  private lineBytes = 0;
  /** Last byte of the unfinished line, kept or not: tells whether it ends in CR. */
  private lastByte = -1;
  private ended = false;

  constructor(options: JsonLinesOptions = {}) {
    this.line = options.startLine ?? 1;
    this.lineOffset = options.startOffset ?? 0;
    this.bomPossible = this.lineOffset === 0;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** Line number of the next line that will be produced. */
  get nextLine(): number {
    return this.line;
  }

  /** Byte offset where the next unfinished line starts: safe to resume from. */
  get nextOffset(): number {
    return this.lineOffset;
  }

  /**
   * Every line this chunk completes; the chunk's unfinished tail is copied and kept for the
   * next one. A line may be a view into `chunk`: use it before the buffer is reused.
   */
  push(chunk: Buffer): RawJsonLine[] {
    if (this.ended) throw new Error('JsonLinesSplitter.push called after end()');
    const out: RawJsonLine[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.keep(chunk, start, chunk.length);
        return out;
      }
      if (this.lineBytes === 0) {
        this.emit(chunk, start, newline, 1, out);
      } else {
        this.keep(chunk, start, newline);
        this.emitPending(1, out);
      }
      start = newline + 1;
    }
  }

  /** Ends the input: a last line without a terminator is a line too. */
  end(): RawJsonLine[] {
    if (this.ended) return [];
    this.ended = true;
    const out: RawJsonLine[] = [];
    if (this.lineBytes > 0) this.emitPending(0, out);
    return out;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length === 0) return;
    this.lineBytes += length;
    this.lastByte = chunk[to - 1];
    const room = this.maxLineBytes + 1 - this.pendingBytes;
    const take = Math.min(room, length);
    if (take > 0) {
      // Copied, so callers may reuse their read buffer once push() returns.
      this.pending.push(Buffer.from(chunk.subarray(from, from + take)));
      this.pendingBytes += take;
    }
  }

  private emitPending(terminatorBytes: number, out: RawJsonLine[]): void {
    const joined = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const totalBytes = this.lineBytes;
    const endsWithCr = this.lastByte === CR;
    this.pending = [];
    this.pendingBytes = 0;
    this.lineBytes = 0;
    this.lastByte = -1;
    this.emit(joined, 0, joined.length, terminatorBytes, out, totalBytes, endsWithCr);
  }

  /** Bytes [from, to) of `bytes` as one line of `totalBytes` bytes (terminator excluded). */
  private emit(
    bytes: Buffer,
    from: number,
    to: number,
    terminatorBytes: number,
    out: RawJsonLine[],
    totalBytes: number = to - from,
    endsWithCr: boolean = to > from && bytes[to - 1] === CR,
  ): void {
    const line = this.line;
    const offset = this.lineOffset;
    const nextOffset = offset + totalBytes + terminatorBytes;
    this.line = line + 1;
    this.lineOffset = nextOffset;
    let contentBytes = totalBytes;
    if (endsWithCr) {
      contentBytes--;
      if (totalBytes === to - from) to--;
    }
    if (offset === 0 && this.bomPossible && to - from >= 3) {
      if (bytes[from] === 0xef && bytes[from + 1] === 0xbb && bytes[from + 2] === 0xbf) from += 3;
    }
    if (contentBytes > this.maxLineBytes) {
      const raw = Buffer.from(bytes.subarray(from, Math.min(to, from + this.maxLineBytes)));
      const failure = decodeFailure(
        'LINE_TOO_LONG',
        `line of ${contentBytes} bytes exceeds the limit of ${this.maxLineBytes} bytes`,
      );
      out.push({ kind: 'dead', ...failure, raw, line, offset, nextOffset });
      return;
    }
    if (to === from || isBlank(bytes, from, to)) return;
    out.push({ kind: 'line', bytes: bytes.subarray(from, to), line, offset, nextOffset });
  }
}

/** Whether the line's text is whitespace only (`String.prototype.trim`'s whitespace). */
function isBlank(bytes: Buffer, from: number, to: number): boolean {
  const first = bytes[from];
  const mayBeBlank = first === 0x20 || first === 0x09 || first === CR || first === 0x0b || first === 0x0c;
  return mayBeBlank && bytes.toString('utf8', from, to).trim().length === 0;
}

/** A split line decoded: its event, or a dead letter holding a copy of its bytes. */
export function decodeJsonLine(record: RawJsonLine): JsonLineRecord {
  if (record.kind === 'dead') return record;
  const { bytes, line, offset, nextOffset } = record;
  const result = decodeJsonEvent(bytes.toString('utf8'));
  if ('event' in result) return { kind: 'event', event: result.event, line, offset, nextOffset };
  const raw = Buffer.from(bytes);
  return { kind: 'dead', code: result.code, reason: result.reason, raw, line, offset, nextOffset };
}

/**
 * Splits a byte stream of JSON lines into events and dead letters, each with its position
 * (`JsonLinesSplitter`, each line decoded at once). The decoder keeps no reference to a
 * chunk: a read buffer can be reused.
 *
 * Threading model: not shared; one instance per source, used by one actor.
 */
export class JsonLinesDecoder {
  readonly #lines: JsonLinesSplitter;

  constructor(options: JsonLinesOptions = {}) {
    this.#lines = new JsonLinesSplitter(options);
  }

  /** Line number of the next line that will be produced. */
  get nextLine(): number {
    return this.#lines.nextLine;
  }

  /** Byte offset where the next unfinished line starts: safe to resume from. */
  get nextOffset(): number {
    return this.#lines.nextOffset;
  }

  /** Decodes every line this chunk completes (`JsonLinesSplitter.push`). */
  push(chunk: Buffer): JsonLineRecord[] {
    return this.#lines.push(chunk).map(decodeJsonLine);
  }

  /** Ends the input: a last line without a terminator is decoded too. */
  end(): JsonLineRecord[] {
    return this.#lines.end().map(decodeJsonLine);
  }
}

/** Decodes a whole buffer of JSON lines (the last line needs no terminator). */
export function decodeJsonLines(
  chunk: Buffer,
  startLine = 1,
  startOffset = 0,
  options: Omit<JsonLinesOptions, 'startLine' | 'startOffset'> = {},
): JsonLineRecord[] {
  const decoder = new JsonLinesDecoder({ ...options, startLine, startOffset });
  const records = decoder.push(chunk);
  for (const record of decoder.end()) records.push(record);
  return records;
}
