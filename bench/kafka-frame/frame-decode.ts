/**
 * The worker's share of the kafka-frame scenario, without Kafka: frame payloads (msgpack
 * arrays of 1,000 generator events) decoded by msgpackr and by the frame fast reader
 * (`flat-event-array.ts`), and, for context, whole fetched batches through
 * `decodeKafkaRecords` (header, CRC, LZ4, then the reader). Before timing, the two readers
 * must give the same events for every payload. Events/s are per second of this thread's
 * CPU time, latency is per payload or batch; contenders are timed in alternation, so a
 * noisy host slows them alike.
 *
 *   node --import tsx bench/kafka-frame/frame-decode.ts [events] [eventsPerFrame]
 */
import { isDeepStrictEqual } from 'node:util';
import { decodeFlatEventArray } from '../../actors/codecs/flat-event-array.ts';
import { encodeFrame } from '../../actors/codecs/frame.ts';
import { msgpack } from '../../actors/codecs/msgpack-event.ts';
import { createGenerator } from '../../actors/generator/index.ts';
import { decodeKafkaRecords } from '../../actors/kafka/decode-records.ts';
import { type KafkaRecordBatch, packKafkaBatch, unpackKafkaBatch } from '../../actors/kafka/kafka-batch.ts';
import { type LatencyPercentiles, LatencyRecorder } from '../lib/figures.ts';

const FRAMES_PER_BATCH = 60;
const ROUNDS = 6;

interface Contender {
  name: string;
  /** Decodes input `index`; returns how many events it gave. */
  run(index: number): number;
  inputs: number;
  cpuMs: number;
  events: number;
  latency: LatencyRecorder;
}

function contender(name: string, inputs: number, run: (index: number) => number): Contender {
  return { name, run, inputs, cpuMs: 0, events: 0, latency: new LatencyRecorder() };
}

function timeRound(timed: Contender): void {
  for (let index = 0; index < timed.inputs; index++) {
    const cpu = process.cpuUsage();
    const events = timed.run(index);
    const used = process.cpuUsage(cpu);
    const micros = used.user + used.system;
    timed.cpuMs += micros / 1000;
    timed.events += events;
    timed.latency.record(micros);
  }
}

function describe(latency: LatencyPercentiles | null): string {
  if (latency === null) return 'no samples';
  const ms = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us} µs`);
  return `p50 ${ms(latency.p50)} · p90 ${ms(latency.p90)} · p99 ${ms(latency.p99)} · max ${ms(latency.max)}`;
}

export function runFrameDecode(events = 600_000, perFrame = 1000): void {
  const generator = createGenerator({ keyField: 'user_id', keys: 10_000, seed: 5 });
  const payloads: Buffer[] = [];
  const frames: Buffer[] = [];
  for (let made = 0; made < events; made += perFrame) {
    const batch = generator.nextBatch(Math.min(perFrame, events - made)).events;
    payloads.push(msgpack.pack(batch));
    frames.push(encodeFrame(batch));
  }
  const batches: KafkaRecordBatch[] = [];
  for (let at = 0; at < frames.length; at += FRAMES_PER_BATCH) {
    const messages = frames
      .slice(at, at + FRAMES_PER_BATCH)
      .map((value, index) => ({ offset: String(at + index), value }));
    batches.push(unpackKafkaBatch(packKafkaBatch('bench', 0, messages)));
  }
  for (const payload of payloads) {
    const fast = decodeFlatEventArray(payload);
    if (fast === undefined) throw new Error('a generator payload fell back to msgpackr');
    if (!isDeepStrictEqual(fast, msgpack.unpack(payload))) {
      throw new Error('the fast reader and msgpackr decoded different events');
    }
  }
  const contenders = [
    contender('msgpackr (payload)', payloads.length, (index) => msgpack.unpack(payloads[index]).length),
    contender(
      'fast reader (payload)',
      payloads.length,
      (index) => decodeFlatEventArray(payloads[index])!.length,
    ),
    contender(
      `decodeKafkaRecords (batch of ${FRAMES_PER_BATCH} frames)`,
      batches.length,
      (index) => decodeKafkaRecords('frame', batches[index]).events.length,
    ),
  ];
  for (let round = 0; round < ROUNDS; round++) for (const timed of contenders) timeRound(timed);
  console.log(
    `frame decode, ${events.toLocaleString('en-US')} generator events, ${perFrame} per frame: fast reader and msgpackr gave the same events`,
  );
  for (const timed of contenders) {
    const rate = timed.events / (timed.cpuMs / 1000);
    console.log(
      `  ${timed.name}: ${Math.round(rate).toLocaleString('en-US')} events per CPU-second; ${describe(timed.latency.percentiles())}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runFrameDecode(Number(process.argv[2] ?? 600_000), Number(process.argv[3] ?? 1000));
}
