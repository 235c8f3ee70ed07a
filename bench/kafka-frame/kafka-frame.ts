/**
 * Scenario `kafka-frame`: Kafka with sluice frames (1,000 events per message, msgpack +
 * LZ4) → 1-minute tumbling count per user → null sink, 2 workers, 8 partitions. Before
 * timing, a 1-worker and a 2-worker run must write the same window counts.
 */
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { createLogger } from '../../runtime/logger.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult } from '../lib/scenario-result.ts';
import { sluiceKafkaCounts, timeSluiceKafka } from '../lib/sluice-kafka-job.ts';
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
  const one = await sluiceKafkaCounts({ brokers, topic, format: 'frame', workers: 1, events });
  const two = await sluiceKafkaCounts({ brokers, topic, format: 'frame', workers: 2, events });
  const comparison = compareCounts(one, two);
  const line = `1 and 2 workers: ${comparison.agree ? 'same' : 'DIFFERENT'} ${comparison.windows.toLocaleString('en-US')} (window, user) counts over ${comparison.events.toLocaleString('en-US')} events${comparison.agree ? '' : `: ${comparison.differences.join('; ')}`}`;
  const systems = comparison.agree
    ? [
        await timeSluiceKafka({ brokers, topic, format: 'frame', workers: 2, events }, 'sluice, 2 workers'),
        await timeSluiceKafka({ brokers, topic, format: 'frame', workers: 1, events }, 'sluice, 1 worker'),
      ]
    : [];
  return {
    scenario: 'kafka-frame',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} events (10,000 users) in ${produced.messages.toLocaleString('en-US')} frame messages on ${PARTITIONS} partitions, produced at ${Math.round(produced.eventsPerSecond).toLocaleString('en-US')} events/s`,
    check: { agree: comparison.agree && comparison.events === events, lines: [line] },
    systems,
    skipped: ['no baseline: naive-node and Spark cannot read sluice frames; compare with kafka-json'],
  };
}
