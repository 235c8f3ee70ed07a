/**
 * `sluice produce`: writes generator events to a Kafka topic, keyed by the key field, for
 * tests, demos and benchmarks. The work is `produceEvents` (actors/kafka); this module
 * only turns argv into its options and prints the rate.
 */
import { type ProduceEventsOptions, produceEvents } from '../../../actors/kafka/produce-events.ts';
import { CliArgumentError } from '../../errors.ts';
import { createLogger } from '../../logger.ts';
import { parseCommandArgs } from '../args.ts';

export {
  type ProduceEventsOptions,
  type ProduceEventsResult,
  produceEvents,
} from '../../../actors/kafka/produce-events.ts';

export const summary = 'write synthetic events to a Kafka topic (json, msgpack or sluice frames)';

export const usage = `Usage: sluice produce --topic <topic> [options]

Writes generator events ({user_id, ts, amount, page}) to Kafka, keyed by user_id, so
Kafka's default partitioner (murmur2) puts every key on the partition sluice expects.
Frames are built per partition: each frame message holds events of one partition only.

Options:
  --brokers <list>          comma-separated brokers (default 127.0.0.1:9092)
  --topic <name>            topic to write (required)
  --format <f>              json | msgpack | frame (default json)
  --count <n>               events to write (default 100000)
  --rate <n>                events per second, 0 = as fast as possible (default 0)
  --keys <n>                distinct keys u0 … u{n-1} (default 1000)
  --create-topic <p>        create the topic with p partitions first (kept if it exists)
  --partitions <p>          same as --create-topic <p>
  --frame-size <n>          events per frame message (default 1000)
  --seed <n>                generator seed (default 1)
  --start-time <ms>         event time of the first event, ms since the epoch
  --out-of-order <f>        fraction of events moved back by up to --max-out-of-order-ms
  --max-out-of-order-ms <n> default 5000
  --late <f>                fraction of events later than the out-of-order bound
  --late-by-ms <n>          how far past the bound late events fall (default 1000)
  --compression <c>         none | lz4: Kafka record-batch compression (default none)

Prints the events/s reached. Exit code 0 on success, 1 when Kafka refuses, 2 on bad options.`;

const spec = {
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string' },
    format: { type: 'string' },
    count: { type: 'string' },
    rate: { type: 'string' },
    keys: { type: 'string' },
    'create-topic': { type: 'string' },
    partitions: { type: 'string' },
    'frame-size': { type: 'string' },
    seed: { type: 'string' },
    'start-time': { type: 'string' },
    'out-of-order': { type: 'string' },
    'max-out-of-order-ms': { type: 'string' },
    late: { type: 'string' },
    'late-by-ms': { type: 'string' },
    compression: { type: 'string' },
  },
} as const;

/** argv → options for `produceEvents`; throws `CliArgumentError` naming the bad option. */
export function parseProduceArgs(argv: readonly string[]): ProduceEventsOptions {
  const { options } = parseCommandArgs('produce', argv, spec);
  const text = (name: string) => options[name] as string | undefined;
  const number = (name: string, fallback: number | undefined, kind: 'count' | 'fraction' | 'integer') =>
    parseNumber(name, text(name), fallback, kind);
  const topic = text('topic');
  if (topic === undefined || topic === '') throw new CliArgumentError('produce', '--topic is required');
  const format = oneOf('format', text('format') ?? 'json', ['json', 'msgpack', 'frame'] as const);
  const compression = oneOf('compression', text('compression') ?? 'none', ['none', 'lz4'] as const);
  const create = number('create-topic', undefined, 'count');
  const partitions = number('partitions', undefined, 'count');
  if (create !== undefined && partitions !== undefined && create !== partitions) {
    throw new CliArgumentError('produce', '--create-topic and --partitions disagree');
  }
  const brokers = (text('brokers') ?? '127.0.0.1:9092').split(',').filter((broker) => broker !== '');
  if (brokers.length === 0)
    throw new CliArgumentError('produce', '--brokers: expected host:port[,host:port…]');
  return {
    brokers,
    topic,
    format,
    compression,
    count: number('count', 100_000, 'count') as number,
    rate: number('rate', 0, 'count'),
    keys: number('keys', 1000, 'count'),
    createTopic: create ?? partitions,
    frameSize: number('frame-size', 1000, 'count'),
    seed: number('seed', 1, 'integer'),
    startTime: number('start-time', undefined, 'integer'),
    outOfOrder: number('out-of-order', 0, 'fraction'),
    maxOutOfOrderMs: number('max-out-of-order-ms', 5000, 'count'),
    late: number('late', 0, 'fraction'),
    lateByMs: number('late-by-ms', 1000, 'count'),
  };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseProduceArgs(argv);
  const result = await produceEvents({ ...options, log: createLogger() });
  const seconds = result.elapsedMs / 1000;
  process.stdout.write(
    `produced ${result.events} events in ${result.messages} messages to ${options.topic} ` +
      `(${result.partitions} partitions) in ${seconds.toFixed(2)} s: ${Math.round(result.eventsPerSecond)} events/s\n`,
  );
  return 0;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CliArgumentError('produce', `--${name}: expected ${allowed.join(' | ')}, got '${value}'`);
  }
  return value as T;
}

function parseNumber(
  name: string,
  value: string | undefined,
  fallback: number | undefined,
  kind: 'count' | 'fraction' | 'integer',
): number | undefined {
  if (value === undefined) return fallback;
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  const ok =
    kind === 'fraction'
      ? parsed >= 0 && parsed <= 1
      : Number.isSafeInteger(parsed) && (kind === 'integer' || parsed >= 0);
  if (!ok) {
    const expected = {
      count: 'a whole number >= 0',
      fraction: 'a fraction between 0 and 1',
      integer: 'a whole number',
    };
    throw new CliArgumentError('produce', `--${name}: expected ${expected[kind]}, got '${value}'`);
  }
  return parsed;
}
