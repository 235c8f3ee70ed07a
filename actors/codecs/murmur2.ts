/**
 * Kafka's default partitioner hash: a port of the Java client's `Utils.murmur2`
 * (seed 0x9747b28c), returning the same signed 32-bit integer.
 *
 * Every place that routes by key — the file and generator sources with `partitions: N`,
 * the gateway, `sluice produce` — uses `partitionForKey`, so a producer that uses Kafka's
 * default partitioner lands each key on the same partition number sluice would choose.
 */

const SEED = 0x9747b28c;
const MIX = 0x5bd1e995;

/** Largest ASCII key the inline encoder handles; longer or non-ASCII keys go through TextEncoder. */
const INLINE_KEY_LIMIT = 256;

// Reused by `partitionForKey` for ASCII keys, so hashing a short key allocates nothing.
// Only touched synchronously inside one call; safe because JS runs one call at a time per thread.
const scratch = new Uint8Array(INLINE_KEY_LIMIT);
const utf8 = new TextEncoder();

/** murmur2 over `length` bytes of `bytes` (defaults to all of them), as Kafka computes it. */
export function murmur2(bytes: Uint8Array, length: number = bytes.length): number {
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, MIX);
    k ^= k >>> 24;
    k = Math.imul(k, MIX);
    h = Math.imul(h, MIX) ^ k;
  }
  // The Java original's switch falls through cases 3 → 2 → 1; written out as ifs.
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= bytes[whole + 2] << 16;
    if (tail >= 2) h ^= bytes[whole + 1] << 8;
    h ^= bytes[whole];
    h = Math.imul(h, MIX);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MIX);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which differs on MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** Hash of a key's UTF-8 bytes; ASCII strings are encoded inline without allocating. */
export function murmur2Key(key: string | Uint8Array): number {
  if (typeof key !== 'string') return murmur2(key);
  const length = key.length;
  if (length <= INLINE_KEY_LIMIT) {
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const code = key.charCodeAt(i);
      if (code > 0x7f) {
        ascii = false;
        break;
      }
      scratch[i] = code;
    }
    if (ascii) return murmur2(scratch, length);
  }
  return murmur2(utf8.encode(key));
}

/**
 * The partition Kafka's default partitioner picks for a key:
 * `toPositive(murmur2(utf8(key))) % partitions`.
 */
export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  return toPositive(murmur2Key(key)) % partitions;
}

/**
 * The text Kafka's default partitioner would hash for a key value, as every sluice source
 * routes it: a string as it is, another value as its JSON; null for a missing key.
 */
export function keyText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
