/**
 * Scenario `kafka-json`: the seed's job exactly — one JSON event per Kafka message,
 * 1-minute tumbling windows, group by user_id, count; 8 partitions. One fresh topic is
 * filled once and every system reads that same input: sluice (2 workers, null sink; on the
 * native path and again with SLUICE_NATIVE=0 when the addon is built), naive-node, and
 * Spark Structured Streaming with the seed's 30 s trigger (throughput and wall time for a
 * fixed input). Before any speed is compared, each system's final count
 * per (window, user) must equal sluice's. Then, when Spark runs, the live part
 * (live-latency.ts): sluice and Spark on one live stream at a fixed rate — Spark's
 * smallest sustained trigger, and event time → output latency for both.
 *
 * Sluice and naive-node are timed over the same span: first record handed to processing →
 * every window's final count out (their last checkpoint / offset commits included);
 * start-up before it and teardown after it are reported apart for both (startupMs,
 * teardownMs — bench/lib/sluice-kafka-job.ts, bench/baselines/naive-node/naive-node.ts).
 */
import { produceEvents } from '../../actors/kafka/produce-events.ts';
import { describeNativePath, nativeAddon } from '../../native/index.ts';
import { createLogger } from '../../runtime/logger.ts';
import { runNaiveNode } from '../baselines/naive-node/naive-node.ts';
import { runSpark, sparkUnavailable } from '../baselines/spark/spark-baseline.ts';
import { kcatAvailable, produceJsonWithKcat } from '../lib/kcat-producer.ts';
import { runContext } from '../lib/machine.ts';
import type { ScenarioResult, SystemFigures } from '../lib/scenario-result.ts';
import { sluiceKafkaCounts, timeSluiceKafka } from '../lib/sluice-kafka-job.ts';
import { compareCounts, type WindowCounts } from '../lib/window-counts.ts';
import { runLiveLatency, searchTable } from './live-latency.ts';

export interface KafkaJsonOptions {
  quick: boolean;
  command: string;
  brokers?: string[];
  /** Run the Spark baseline and the live part (default true unless quick). */
  spark?: boolean;
  events?: number;
}

const PARTITIONS = 8;

function describeCheck(
  system: string,
  expected: WindowCounts,
  actual: WindowCounts,
): { agree: boolean; line: string } {
  const result = compareCounts(expected, actual);
  const what = `${result.windows.toLocaleString('en-US')} (window, user) counts over ${result.events.toLocaleString('en-US')} events`;
  return {
    agree: result.agree,
    line: result.agree
      ? `${system}: same ${what} as sluice`
      : `${system}: DIFFERENT from sluice on ${what}: ${result.differences.join('; ')}`,
  };
}

export async function runKafkaJson(options: KafkaJsonOptions): Promise<ScenarioResult> {
  const context = runContext(options.command);
  const brokers = options.brokers ?? (process.env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const events = options.events ?? (options.quick ? 20_000 : 1_000_000);
  const topic = `bench_json_${Date.now()}`;
  // Unthrottled, the generator advances event time 1 ms per 1,000 events; starting half the
  // input before 12:00 makes the input cross a window boundary, so one window fires mid-stream.
  // kcat (librdkafka) fills the topic in seconds where kafkajs takes ~30 s for 1M messages;
  // both write the same generator events to the same partitions (murmur2 of the key).
  const generator = {
    keys: 10_000,
    outOfOrder: 0,
    startTime: Date.UTC(2024, 4, 1, 12) - Math.ceil(events / 2000),
  };
  const log = createLogger({ level: 'warn' });
  const produced = (await kcatAvailable())
    ? await produceEvents({ brokers, topic, format: 'json', count: 0, createTopic: PARTITIONS, log }).then(
        () => produceJsonWithKcat({ brokers, topic, count: events, rate: 0, generator }),
      )
    : await produceEvents({
        brokers,
        topic,
        format: 'json',
        count: events,
        createTopic: PARTITIONS,
        log,
        ...generator,
      });
  const job = { brokers, topic, format: 'json' as const, workers: 2, events };
  const systems: SystemFigures[] = [];
  const skipped: string[] = [];
  const lines: string[] = [];
  let agree = true;
  let table: ScenarioResult['table'];

  const expected = await sluiceKafkaCounts(job);
  systems.push(await timeSluiceKafka(job));
  if (nativeAddon !== null) {
    // The same job on the TS path (a JSON.parse per message): its counts, then its speed.
    const tsJob = { ...job, native: false };
    const check = describeCheck(
      'sluice on the TS path (SLUICE_NATIVE=0)',
      expected,
      await sluiceKafkaCounts(tsJob),
    );
    lines.push(check.line);
    agree &&= check.agree;
    systems.push(await timeSluiceKafka(tsJob, 'sluice, TS path'));
  } else skipped.push(`sluice, TS path: the only path here — ${describeNativePath()}`);

  const naive = await runNaiveNode({ brokers, topic, events });
  const naiveCheck = describeCheck('naive-node', expected, naive.counts);
  lines.push(naiveCheck.line);
  agree &&= naiveCheck.agree;
  systems.push(naive.figures);

  if (options.spark ?? !options.quick) {
    const unavailable = sparkUnavailable();
    if (unavailable) skipped.push(`spark: skipped — ${unavailable}`);
    else {
      try {
        const spark = await runSpark({ brokers, topic, events, trigger: '30 seconds' });
        const check = describeCheck(spark.figures.system, expected, spark.counts);
        lines.push(check.line);
        agree &&= check.agree;
        systems.push(spark.figures);
      } catch (error) {
        skipped.push(`spark (trigger 30 seconds): failed — ${(error as Error).message}`);
      }
      try {
        const live = await runLiveLatency({ brokers });
        lines.push(...live.lines);
        systems.push(...live.systems);
        table = searchTable(live.search);
      } catch (error) {
        skipped.push(`live part (sluice and Spark on a live stream): failed — ${(error as Error).message}`);
      }
    }
  } else skipped.push('spark: not run (--quick runs sluice and naive-node only)');

  return {
    scenario: 'kafka-json',
    context,
    quick: options.quick,
    input: `${events.toLocaleString('en-US')} JSON events (10,000 users, in order) in ${events.toLocaleString('en-US')} messages on ${PARTITIONS} partitions, produced at ${Math.round(produced.eventsPerSecond).toLocaleString('en-US')} events/s`,
    check: { agree, lines },
    systems,
    skipped,
    ...(table ? { table } : {}),
  };
}
