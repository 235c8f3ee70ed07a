/**
 * A fast reader for the payload nearly every frame carries: a msgpack array of flat maps
 * whose keys are ASCII strings and whose values are nil, booleans, numbers or ASCII strings.
 *
 * It answers the same events `msgpack.unpack` (msgpack-event.ts) would, or `undefined` as
 * soon as it meets anything outside that subset — a nested map or array, binary, an
 * extension, non-ASCII text, a `__proto__` or repeated key, a key that is not a string,
 * bytes that run out or are left over — and the caller then decodes with msgpackr. So the
 * result never differs from msgpackr's; only the common case is faster:
 * - events of one key layout (one producer, one schema) are built by one object literal per
 *   layout, so they share a hidden class from birth instead of growing one key at a time;
 * - short repeated strings (user ids, pages, countries) come from a small cache, so a
 *   frame of 1,000 events does not allocate 1,000 copies of a few hundred distinct values,
 *   and the window's key lookups meet strings whose hash is already computed.
 *
 * Threading model: module state (the reading position, the caches) is per thread and each
 * call runs to completion synchronously, so calls never interleave.
 */

type FlatEvent = Record<string, unknown>;

/** One key layout: its keys in order, their bytes, and the literal that builds an event of it. */
interface Layout {
  keys: string[];
  /** Concatenated key bytes, and where each key's bytes start in it (keys.length + 1 entries). */
  keyBytes: Uint8Array;
  keyStarts: number[];
  /**
   * Each key's bytes as big-endian 32-bit words, compared four bytes at a time: the words at
   * 0, 4, 8… and the last four bytes (overlapping), so keys of 4 bytes and more are covered
   * whole; shorter keys are compared byte by byte. `wordStarts` as `keyStarts`.
   */
  keyWords: Int32Array;
  wordStarts: number[];
  build: (values: unknown[]) => FlatEvent;
}

/** Returned by a reader for input outside the subset (never a decoded value: it is module-private). */
const UNSUPPORTED: unique symbol = Symbol('unsupported');

const MAX_LAYOUT_KEYS = 64;
const MAX_LAYOUTS = 64;
const MAX_CACHED_STRING = 24;
const STRING_CACHE_SIZE = 16384;

let src: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(src.buffer);
let position = 0;
let end = 0;
let values: unknown[] = new Array<unknown>(16);
/** The layout the previous event had: the next one usually has it too. */
let lastLayout: Layout | null = null;
const layouts = new Map<string, Layout>();
const stringCache = new Array<string | undefined>(STRING_CACHE_SIZE);
/** Per cache slot: the entry's byte length, and for 4 to 8 bytes its first and last four bytes. */
const cachedLengths = new Int32Array(STRING_CACHE_SIZE).fill(-1);
const cachedHeads = new Int32Array(STRING_CACHE_SIZE);
const cachedTails = new Int32Array(STRING_CACHE_SIZE);
const latin1 = new TextDecoder('latin1');

/**
 * The events of a frame payload (a msgpack array of maps) when it lies in the subset this
 * reader handles; `undefined` otherwise (decode it with msgpackr). Never throws.
 */
export function decodeFlatEventArray(bytes: Uint8Array): FlatEvent[] | undefined {
  src = bytes;
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  position = 0;
  end = bytes.length;
  try {
    const count = readArrayHeader();
    // Every map takes at least one byte: a count past what remains is not ours to judge.
    if (count < 0 || count > end - position) return undefined;
    const events = new Array<FlatEvent>(count);
    for (let index = 0; index < count; index++) {
      const event = readEvent();
      if (event === undefined) return undefined;
      events[index] = event;
    }
    return position === end ? events : undefined;
  } finally {
    src = new Uint8Array(0);
  }
}

/**
 * The length a header of one family gives — its fix form (`fixFirst`…`fixLast`), then its
 * 8-, 16- and 32-bit forms (-1 where the family has none); -1 when the next value is of
 * another family or its header runs out.
 */
function readHeader(
  fixFirst: number,
  fixLast: number,
  with8: number,
  with16: number,
  with32: number,
): number {
  if (position >= end) return -1;
  const token = src[position++];
  if (token >= fixFirst && token <= fixLast) return token - fixFirst;
  if (token === with8 && position + 1 <= end) return src[position++];
  if (token === with16 && position + 2 <= end) {
    position += 2;
    return view.getUint16(position - 2);
  }
  if (token === with32 && position + 4 <= end) {
    position += 4;
    return view.getUint32(position - 4);
  }
  return -1;
}

const readArrayHeader = () => readHeader(0x90, 0x9f, -1, 0xdc, 0xdd);
const readMapHeader = () => readHeader(0x80, 0x8f, -1, 0xde, 0xdf);
const readStringHeader = () => readHeader(0xa0, 0xbf, 0xd9, 0xda, 0xdb);

function readEvent(): FlatEvent | undefined {
  const size = readMapHeader();
  if (size < 0 || size > MAX_LAYOUT_KEYS) return undefined;
  const entriesStart = position;
  if (values.length < size) values = new Array<unknown>(size);
  const layout = lastLayout;
  if (layout !== null && layout.keys.length === size && readValuesOfLayout(layout)) {
    return layout.build(values);
  }
  position = entriesStart;
  const other = readKeysAndValues(size);
  if (other === undefined) return undefined;
  lastLayout = other;
  return other.build(values);
}

/** Reads a map whose keys are exactly `layout`'s, in order, into `values`; false on any difference. */
function readValuesOfLayout(layout: Layout): boolean {
  const { keyBytes, keyStarts, keyWords, wordStarts } = layout;
  for (let index = 0; index < keyStarts.length - 1; index++) {
    const length = readStringHeader();
    const keyStart = keyStarts[index];
    if (length !== keyStarts[index + 1] - keyStart || position + length > end) return false;
    if (length < 4) {
      for (let offset = 0; offset < length; offset++) {
        if (src[position + offset] !== keyBytes[keyStart + offset]) return false;
      }
    } else {
      const wordsEnd = wordStarts[index + 1] - 1;
      let word = wordStarts[index];
      for (let at = position; word < wordsEnd; at += 4, word++) {
        if (view.getInt32(at) !== keyWords[word]) return false;
      }
      if (view.getInt32(position + length - 4) !== keyWords[wordsEnd]) return false;
    }
    position += length;
    const value = readScalar();
    if (value === UNSUPPORTED) return false;
    values[index] = value;
  }
  return true;
}

/** Reads a map of any keys into `values` and returns its layout; undefined outside the subset. */
function readKeysAndValues(size: number): Layout | undefined {
  const keys = new Array<string>(size);
  for (let index = 0; index < size; index++) {
    const length = readStringHeader();
    if (length < 0) return undefined;
    const key = readAscii(length);
    if (key === UNSUPPORTED || key === '__proto__') return undefined;
    for (let earlier = 0; earlier < index; earlier++) if (keys[earlier] === key) return undefined;
    keys[index] = key;
    const value = readScalar();
    if (value === UNSUPPORTED) return undefined;
    values[index] = value;
  }
  return layoutOf(keys);
}

function layoutOf(keys: string[]): Layout {
  const name = JSON.stringify(keys);
  const known = layouts.get(name);
  if (known !== undefined) return known;
  if (layouts.size >= MAX_LAYOUTS) layouts.clear();
  const keyStarts = [0];
  for (const key of keys) keyStarts.push(keyStarts[keyStarts.length - 1] + key.length);
  const keyBytes = new Uint8Array(keyStarts[keys.length]);
  keys.forEach((key, index) => {
    for (let at = 0; at < key.length; at++) keyBytes[keyStarts[index] + at] = key.charCodeAt(at);
  });
  const bytesView = new DataView(keyBytes.buffer);
  const words: number[] = [];
  const wordStarts = [0];
  keys.forEach((key, index) => {
    if (key.length >= 4) {
      for (let at = 0; at + 4 < key.length; at += 4) words.push(bytesView.getInt32(keyStarts[index] + at));
      words.push(bytesView.getInt32(keyStarts[index + 1] - 4));
    }
    wordStarts.push(words.length);
  });
  // One literal per layout: V8 gives every event it builds the same hidden class at once.
  // Keys are ASCII and go in through JSON.stringify, so they are string literals, never code.
  const fields = keys.map((key, index) => `${JSON.stringify(key)}: values[${index}]`).join(', ');
  const build = new Function('values', `return { ${fields} };`) as Layout['build'];
  const layout: Layout = { keys, keyBytes, keyStarts, keyWords: Int32Array.from(words), wordStarts, build };
  layouts.set(name, layout);
  return layout;
}

/** nil, a boolean, a number or an ASCII string, as msgpackr (int64AsType 'number') reads it. */
function readScalar(): unknown {
  if (position >= end) return UNSUPPORTED;
  const token = src[position];
  if (token < 0x80) {
    position++;
    return token;
  }
  if (token >= 0xe0) {
    position++;
    return token - 0x100;
  }
  if (token >= 0xa0 && token <= 0xbf) {
    position++;
    return readAscii(token - 0xa0);
  }
  const width = SCALAR_WIDTH[token];
  if (width < 0 || position + 1 + width > end) return UNSUPPORTED;
  const at = position + 1;
  position = at + width;
  switch (token) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xca:
      return view.getFloat32(at);
    case 0xcb:
      return view.getFloat64(at);
    case 0xcc:
      return src[at];
    case 0xcd:
      return view.getUint16(at);
    case 0xce:
      return view.getUint32(at);
    case 0xcf:
      // msgpackr's own arithmetic for int64AsType 'number', so large values round alike.
      return view.getUint32(at) * 0x100000000 + view.getUint32(at + 4);
    case 0xd0:
      return view.getInt8(at);
    case 0xd1:
      return view.getInt16(at);
    case 0xd2:
      return view.getInt32(at);
    case 0xd3:
      return view.getInt32(at) * 0x100000000 + view.getUint32(at + 4);
    default: {
      position = at - 1;
      const length = readStringHeader();
      return length < 0 ? UNSUPPORTED : readAscii(length);
    }
  }
}

/** Bytes after the type byte, for the scalar types other than fixint and fixstr; -1 for the rest. */
const SCALAR_WIDTH = new Int8Array(256).fill(-1);
const scalarWidths: Array<[token: number, width: number]> = [
  // nil, false, true; float 32 and 64
  [0xc0, 0],
  [0xc2, 0],
  [0xc3, 0],
  [0xca, 4],
  [0xcb, 8],
  // uint 8…64, int 8…64
  [0xcc, 1],
  [0xcd, 2],
  [0xce, 4],
  [0xcf, 8],
  [0xd0, 1],
  [0xd1, 2],
  [0xd2, 4],
  [0xd3, 8],
  // str 8/16/32: their length bytes, which readStringHeader then reads again
  [0xd9, 1],
  [0xda, 2],
  [0xdb, 4],
];
for (const [token, width] of scalarWidths) SCALAR_WIDTH[token] = width;

/**
 * `length` bytes of ASCII as a string; UNSUPPORTED when they run out or one is not ASCII.
 * Short strings come from a cache. Those of 4 to 8 bytes, the usual ids, codes and paths,
 * are two overlapping big-endian words that cover every byte: the words check ASCII, hash,
 * and compare with the cached entry's in one step.
 */
function readAscii(length: number): string | typeof UNSUPPORTED {
  const start = position;
  const stop = start + length;
  if (stop > end) return UNSUPPORTED;
  if (length >= 4 && length <= 8) {
    const head = view.getInt32(start);
    const tail = view.getInt32(stop - 4);
    if (((head | tail) & 0x80808080) !== 0) return UNSUPPORTED;
    position = stop;
    let hash = Math.imul(head ^ Math.imul(tail, 0x9e3779b1) ^ length, 0x85ebca6b);
    hash ^= hash >>> 15;
    const slot = hash & (STRING_CACHE_SIZE - 1);
    if (cachedLengths[slot] === length && cachedHeads[slot] === head && cachedTails[slot] === tail) {
      return stringCache[slot] as string;
    }
    const text = asciiText(start, length);
    stringCache[slot] = text;
    cachedLengths[slot] = length;
    cachedHeads[slot] = head;
    cachedTails[slot] = tail;
    return text;
  }
  let hash = length;
  for (let at = start; at < stop; at++) {
    const byte = src[at];
    if (byte > 0x7f) return UNSUPPORTED;
    hash = (Math.imul(hash, 31) + byte) | 0;
  }
  position = stop;
  if (length > MAX_CACHED_STRING) return asciiText(start, length);
  const slot = (hash ^ (hash >>> 12)) & (STRING_CACHE_SIZE - 1);
  const cached = stringCache[slot];
  if (cached !== undefined && cached.length === length) {
    let same = true;
    for (let offset = 0; offset < length; offset++) {
      if (cached.charCodeAt(offset) !== src[start + offset]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const text = asciiText(start, length);
  stringCache[slot] = text;
  cachedLengths[slot] = length;
  return text;
}

const fromCharCode = String.fromCharCode;

/** Checked ASCII bytes as a string: short ones by char codes, long ones through one decoder call. */
function asciiText(start: number, length: number): string {
  const bytes = src;
  switch (length) {
    case 0:
      return '';
    case 1:
      return fromCharCode(bytes[start]);
    case 2:
      return fromCharCode(bytes[start], bytes[start + 1]);
    case 3:
      return fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2]);
    case 4:
      return fromCharCode(bytes[start], bytes[start + 1], bytes[start + 2], bytes[start + 3]);
    case 5:
      return fromCharCode(
        bytes[start],
        bytes[start + 1],
        bytes[start + 2],
        bytes[start + 3],
        bytes[start + 4],
      );
    case 6:
      return fromCharCode(
        bytes[start],
        bytes[start + 1],
        bytes[start + 2],
        bytes[start + 3],
        bytes[start + 4],
        bytes[start + 5],
      );
    default:
      return latin1.decode(bytes.subarray(start, start + length));
  }
}
