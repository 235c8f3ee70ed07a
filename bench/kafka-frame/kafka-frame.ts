/**
 * Scenario `kafka-frame`: Kafka with sluice frames (1,000 events per message, msgpack +
 * LZ4) → 1-minute tumbling count per user → null sink, 2 workers, 8 partitions. Before
 * timing, a 1-worker and a 2-worker run must write the same window counts, and — when the
 * native addon is built — so must a 2-worker run on the TS path (SLUICE_NATIVE=0), which
 * is then timed beside the native one. The same topic is then read into a hopping window
 * (1 minute every 30 s) on both paths, checked equal and timed: the native path
 * pre-aggregates it too.
 */
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { describeNativePath, nativeAddon } from '../../native/index.ts';
import { createLogger } from '../../runtime/logger.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult } from '../lib/scenario-result.ts';
import { HOPPING_WINDOW, sluiceKafkaCounts, timeSluiceKafka } from '../lib/sluice-kafka-job.ts';
import { compareCounts } from '../lib/window-counts.ts';

const PARTITIONS = 8;

export async function runKafkaFrame(options: {
  quick: boolean;
  command: string;
  brokers?: string[];
}): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const brokers = options.brokers ?? (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const events = options.quick ? 200_000 : 3_000_000;
  const topic = `bench_frame_${Date.now()}`;
  const produced = await produceEvents({
    brokers,
    topic,
    format: 'frame',
    count: events,
    keys: 10_000,
    createTopic: PARTITIONS,
    startTime: Date.UTC(2024, 4, 1, 12) - Math.ceil(events / 2000),
    log: createLogger({ level: 'warn' }),
  });
  const job = { brokers, topic, format: 'frame' as const, events };
  const one = await sluiceKafkaCounts({ ...job, workers: 1 });
  const two = await sluiceKafkaCounts({ ...job, workers: 2 });
  const describe = (what: string, comparison: ReturnType<typeof compareCounts>) =>
    `${what}: ${comparison.agree ? 'same' : 'DIFFERENT'} ${comparison.windows.toLocaleString('en-US')} (window, user) counts over ${comparison.events.toLocaleString('en-US')} events${comparison.agree ? '' : `: ${comparison.differences.join('; ')}`}`;
  const comparison = compareCounts(one, two);
  const lines = [describe('1 and 2 workers', comparison)];
  let agree = comparison.agree && comparison.events === events;
  if (nativeAddon !== null) {
    const ts = compareCounts(two, await sluiceKafkaCounts({ ...job, workers: 2, native: false }));
    lines.push(describe('2 workers, native and TS path (SLUICE_NATIVE=0)', ts));
    agree &&= ts.agree;
  }
  // The same job over a hopping window (each event counted in two windows), both paths.
  const hopping = { ...job, workers: 2, window: HOPPING_WINDOW };
  if (nativeAddon !== null) {
    const hoppingNative = await sluiceKafkaCounts(hopping);
    const hoppingTs = compareCounts(hoppingNative, await sluiceKafkaCounts({ ...hopping, native: false }));
    lines.push(describe('hopping 1 min every 30 s, 2 workers, native and TS path', hoppingTs));
    agree &&= hoppingTs.agree && hoppingTs.events === 2 * events;
  }
  const systems = agree
    ? [
        await timeSluiceKafka({ ...job, workers: 2 }, 'sluice, 2 workers'),
        await timeSluiceKafka({ ...job, workers: 1 }, 'sluice, 1 worker'),
        ...(nativeAddon === null
          ? []
          : [
              await timeSluiceKafka({ ...job, workers: 2, native: false }, 'sluice, 2 workers, TS path'),
              await timeSluiceKafka({ ...job, workers: 1, native: false }, 'sluice, 1 worker, TS path'),
              await timeSluiceKafka(hopping, 'sluice, 2 workers, hopping'),
              await timeSluiceKafka({ ...hopping, native: false }, 'sluice, 2 workers, hopping, TS path'),
            ]),
      ]
    : [];
  return {
    scenario: 'kafka-frame',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} events (10,000 users) in ${produced.messages.toLocaleString('en-US')} frame messages on ${PARTITIONS} partitions, produced at ${Math.round(produced.eventsPerSecond).toLocaleString('en-US')} events/s`,
    check: { agree, lines },
    systems,
    skipped: [
      'no baseline: naive-node and Spark cannot read sluice frames; compare with kafka-json',
      ...(nativeAddon === null ? [`sluice, TS path: the only path here — ${describeNativePath()}`] : []),
    ],
  };
}
