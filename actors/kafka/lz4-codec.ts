/**
 * Kafka's own LZ4 record-batch compression for kafkajs, which ships without it. Kafka
 * (message format v1+) uses the standard LZ4 *frame* format, so this is lz4-napi's
 * frame API, not the block API the sluice frame payload uses.
 *
 * kafkajs keeps codecs in one process-wide table; registering is idempotent and must
 * happen before a producer compresses or a consumer meets an LZ4 batch, so both the
 * source and `produceEvents` call it on start.
 */
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';

interface KafkajsEncoder {
  buffer: Buffer;
}

/** The codec object kafkajs expects: `compress(encoder)` and `decompress(buffer)`, both async. */
export function createLz4Codec() {
  return {
    compress: async (encoder: KafkajsEncoder): Promise<Buffer> => compressFrame(encoder.buffer),
    decompress: async (buffer: Buffer): Promise<Buffer> => decompressFrame(buffer),
  };
}

// kafkajs is CommonJS: its named exports are reached through the default import under ESM.
let registered = false;

/** Makes kafkajs read and write LZ4-compressed record batches. */
export function registerLz4Codec(): void {
  if (registered) return;
  const codecs = kafkajs.CompressionCodecs as unknown as Record<
    number,
    () => ReturnType<typeof createLz4Codec>
  >;
  const codec = createLz4Codec();
  codecs[kafkajs.CompressionTypes.LZ4] = () => codec;
  registered = true;
}
