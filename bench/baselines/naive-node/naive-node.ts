/**
 * Baseline `naive-node`: kafkajs `eachMessage`, `JSON.parse`, a `Map` of counts flushed per
 * window — what a Node developer would write without a stream processor. One consumer
 * (one process, one thread) reads every partition of the topic to the end offsets seen at
 * start. Latency per message: fetched batch's arrival → message counted.
 *
 * Throughput is timed as sluice's is (bench/lib/sluice-kafka-job.ts): from the first
 * message handed to `eachMessage` to the moment every window's count is out (the last
 * message counted and the open windows flushed); kafkajs commits the consumed offsets
 * after every batch inside that span (its autoCommit does so whatever the interval). Start-up
 * before the first message (connect, group join) is reported apart as `startupMs`, and
 * teardown after the last count (leaving the group) as `teardownMs`.
 */
import kafkajs from 'kafkajs';
import { LatencyRecorder, measureProcess } from '../../lib/figures.ts';
import type { SystemFigures } from '../../lib/scenario-result.ts';
import { type WindowCounts, windowCountKey } from '../../lib/window-counts.ts';
import { type FlushedWindow, WindowCounter } from './window-counter.ts';

export interface NaiveNodeRun {
  figures: SystemFigures;
  counts: WindowCounts;
}

export async function runNaiveNode(options: {
  brokers: string[];
  topic: string;
  events: number;
}): Promise<NaiveNodeRun> {
  const kafka = new kafkajs.Kafka({
    clientId: 'bench-naive-node',
    brokers: options.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(options.topic)).map((entry) => [entry.partition, BigInt(entry.high)]),
  );
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId: `bench-naive-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`,
  });
  const counter = new WindowCounter();
  const flushed: FlushedWindow[] = [];
  const latency = new LatencyRecorder();
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));
  let seen = 0;
  let firstAt: number | null = null;
  const began = performance.now();
  const measure = measureProcess();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  if (remaining.size === 0) done();
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const arrived = performance.now();
      firstAt ??= arrived;
      const event = JSON.parse(message.value?.toString() ?? '{}') as { user_id: string; ts: number };
      for (const window of counter.add(event.user_id, event.ts)) flushed.push(window);
      seen += 1;
      latency.record((performance.now() - arrived) * 1000);
      if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n) && remaining.delete(partition)) {
        if (remaining.size === 0) done();
      }
    },
  });
  await finished;
  for (const window of counter.flushAll()) flushed.push(window);
  const usage = measure.stop();
  const finishedAt = performance.now();
  await consumer.disconnect();
  const teardownMs = performance.now() - finishedAt;
  const startedAt = firstAt ?? began;
  const processingMs = Math.max(1, began + usage.wallMs - startedAt);
  const counts: WindowCounts = new Map();
  for (const window of flushed) {
    const id = windowCountKey(window.windowStart, window.userId);
    counts.set(id, (counts.get(id) ?? 0) + window.count);
  }
  return {
    counts,
    figures: {
      system: 'naive-node',
      scenario: 'naive-node',
      events: seen,
      ...usage,
      eventsPerSecond: seen / (processingMs / 1000),
      latencyUs: latency.percentiles(),
      latencyOf: 'per message: handed to eachMessage → counted',
      extra: {
        startupMs: Math.round(startedAt - began),
        processingMs: Math.round(processingMs),
        teardownMs: Math.round(teardownMs),
      },
    },
  };
}
