/**
 * Writes generator events to a Kafka topic: the engine of `sluice produce`, also called
 * directly by tests and benchmarks.
 *
 * Messages are keyed by the key field and land where Kafka's default partitioner (murmur2)
 * puts that key. `frame` messages carry many events, so they are built per partition
 * (events grouped by `partitionForKey`) and sent with an explicit partition, keyed by
 * their first event's key. The producer is idempotent (acks all, one request in flight),
 * and at most one batch is in flight while the next one is built, so memory stays bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { createLogger, type Logger } from '../../runtime/logger.ts';
import { encodeFrame } from '../codecs/frame.ts';
import { encodeMsgpackEvent } from '../codecs/msgpack-event.ts';
import { partitionForKey } from '../codecs/murmur2.ts';
import { createGenerator, type GeneratorOptions } from '../generator/index.ts';
import type { KafkaFormat } from './decode-records.ts';
import { createKafkaClient } from './kafka-client.ts';
import { describeError, kafkaError } from './kafka-errors.ts';
import { createIdempotentProducer, prepareTopics } from './kafka-producer.ts';

export interface ProduceEventsOptions {
  brokers: string[];
  topic: string;
  format: KafkaFormat;
  /** Events to write. */
  count: number;
  /** Events per second; 0 = as fast as the broker takes them. */
  rate?: number;
  /** Distinct keys (`u0` …). */
  keys?: number;
  seed?: number;
  /** Event time of the first event, ms since the epoch. */
  startTime?: number;
  outOfOrder?: number;
  maxOutOfOrderMs?: number;
  late?: number;
  lateByMs?: number;
  keyField?: string;
  timeField?: string;
  /** Events per frame message (`format: frame`). Default 1000. */
  frameSize?: number;
  /** Kafka record-batch compression. Default none. */
  compression?: 'none' | 'lz4';
  /** Create the topic with this many partitions first (no error if it exists). */
  createTopic?: number;
  /** Events generated and sent per producer request. Default 10,000 (json/msgpack) or 20 frames. */
  batchEvents?: number;
  clientId?: string;
  log?: Logger;
}

export interface ProduceEventsResult {
  events: number;
  messages: number;
  partitions: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

type OutgoingMessage = { key: string; value: Buffer; partition?: number };

export async function produceEvents(options: ProduceEventsOptions): Promise<ProduceEventsResult> {
  const log = options.log ?? createLogger();
  const frameSize = options.frameSize ?? 1000;
  const keyField = options.keyField ?? 'user_id';
  const batchEvents = options.batchEvents ?? (options.format === 'frame' ? frameSize * 20 : 10_000);
  const rate = options.rate ?? 0;
  const { kafka } = createKafkaClient({
    brokers: options.brokers,
    clientId: options.clientId ?? 'sluice-produce',
    log,
  });
  const created = options.createTopic === undefined ? undefined : { partitions: options.createTopic };
  const partitions = (await prepareTopics(kafka, [options.topic], created)).get(options.topic) ?? 0;
  const generatorOptions: GeneratorOptions = {
    keyField,
    timeField: options.timeField,
    keys: options.keys,
    seed: options.seed,
    startTime: options.startTime,
    outOfOrder: options.outOfOrder,
    maxOutOfOrderMs: options.maxOutOfOrderMs,
    late: options.late,
    lateByMs: options.lateByMs,
    eventsPerSecond: rate,
  };
  const generator = createGenerator(generatorOptions);
  // The producer's partitioner is the Java client's murmur2 one (the same as partitionForKey).
  const producer = createIdempotentProducer(kafka);
  const compression =
    options.compression === 'lz4' ? kafkajs.CompressionTypes.LZ4 : kafkajs.CompressionTypes.None;
  await producer.connect();
  const began = performance.now();
  let produced = 0;
  let messages = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  try {
    while (produced < options.count) {
      const n = Math.min(batchEvents, options.count - produced);
      const { events } = generator.nextBatch(n);
      const outgoing = toMessages(options.format, events, keyField, partitions, frameSize);
      await inFlight;
      inFlight = producer.send({ topic: options.topic, compression, acks: -1, messages: outgoing });
      produced += n;
      messages += outgoing.length;
      if (rate > 0) {
        const due = began + (produced * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
    }
    await inFlight;
  } catch (error) {
    throw kafkaError('SLUICE_ERR_KAFKA_PRODUCE_FAILED', [options.topic, describeError(error)], error);
  } finally {
    await inFlight.catch(() => {});
    await producer.disconnect();
  }
  const elapsedMs = performance.now() - began;
  return {
    events: produced,
    messages,
    partitions,
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? (produced * 1000) / elapsedMs : produced,
  };
}

function keyOf(event: Record<string, unknown>, keyField: string): string {
  const value = event[keyField];
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One message per event, or frames of up to `frameSize` events grouped by partition. */
export function toMessages(
  format: KafkaFormat,
  events: Record<string, unknown>[],
  keyField: string,
  partitions: number,
  frameSize: number,
): OutgoingMessage[] {
  if (format === 'json') {
    return events.map((event) => ({
      key: keyOf(event, keyField),
      value: Buffer.from(JSON.stringify(event)),
    }));
  }
  if (format === 'msgpack') {
    return events.map((event) => ({ key: keyOf(event, keyField), value: encodeMsgpackEvent(event) }));
  }
  const byPartition: Record<string, unknown>[][] = Array.from({ length: partitions }, () => []);
  for (const event of events) byPartition[partitionForKey(keyOf(event, keyField), partitions)].push(event);
  const out: OutgoingMessage[] = [];
  byPartition.forEach((group, partition) => {
    for (let start = 0; start < group.length; start += frameSize) {
      const slice = group.slice(start, start + frameSize);
      out.push({ key: keyOf(slice[0], keyField), partition, value: encodeFrame(slice) });
    }
  });
  return out;
}
