import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeFrame } from '../../../actors/codecs/frame.ts';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';
import { createGenerator } from '../../../actors/generator/index.ts';
import { toMessages } from '../../../actors/kafka/produce-events.ts';
import { parseProduceArgs } from '../../../runtime/cli/commands/produce.ts';
import { CliArgumentError } from '../../../runtime/errors.ts';

describe('sluice produce arguments', () => {
  test('defaults fill in everything but the topic', () => {
    const options = parseProduceArgs(['--topic', 'clicks']);
    assert.deepEqual(options.brokers, ['127.0.0.1:9092']);
    assert.equal(options.format, 'json');
    assert.equal(options.count, 100_000);
    assert.equal(options.rate, 0);
    assert.equal(options.compression, 'none');
    assert.equal(options.createTopic, undefined);
  });

  test('every option is read', () => {
    const options = parseProduceArgs(
      '--brokers a:1,b:2 --topic t --format frame --rate 500 --count 10 --keys 3 --create-topic 8 --frame-size 50 --seed 9 --start-time 1000 --out-of-order 0.2 --late 0.1 --compression lz4'.split(
        ' ',
      ),
    );
    assert.deepEqual(options.brokers, ['a:1', 'b:2']);
    assert.deepEqual(
      [options.format, options.rate, options.count, options.keys, options.createTopic, options.frameSize],
      ['frame', 500, 10, 3, 8, 50],
    );
    assert.deepEqual(
      [options.seed, options.startTime, options.outOfOrder, options.late],
      [9, 1000, 0.2, 0.1],
    );
    assert.equal(options.compression, 'lz4');
  });

  test('--partitions creates the topic like --create-topic', () => {
    assert.equal(parseProduceArgs(['--topic', 't', '--partitions', '4']).createTopic, 4);
  });

  test('bad values are usage errors naming the option', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /--topic is required/],
      [['--topic', 't', '--format', 'xml'], /--format: expected json \| msgpack \| frame/],
      [['--topic', 't', '--count', '-1'], /--count/],
      [['--topic', 't', '--rate', 'fast'], /--rate/],
      [['--topic', 't', '--late', '1.5'], /--late: expected a fraction/],
      [['--topic', 't', '--create-topic', '2', '--partitions', '3'], /disagree/],
      [['--topic', 't', '--colour'], /colour/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseProduceArgs(argv),
        (error: unknown) => {
          assert.ok(error instanceof CliArgumentError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});

describe('produce messages', () => {
  const events = createGenerator({ keys: 50, seed: 3 }).nextBatch(2500).events;

  test('json and msgpack write one message per event, keyed by the key field', () => {
    for (const format of ['json', 'msgpack'] as const) {
      const messages = toMessages(format, events, 'user_id', 4, 1000);
      assert.equal(messages.length, events.length);
      assert.deepEqual(
        messages.map((message) => message.key),
        events.map((event) => event.user_id),
      );
      assert.ok(messages.every((message) => message.partition === undefined));
    }
  });

  test('frames hold at most frame-size events, all of the partition they are sent to, in order', () => {
    const messages = toMessages('frame', events, 'user_id', 4, 300);
    const seen: Record<string, unknown>[] = [];
    for (const message of messages) {
      const frame = decodeFrame(message.value);
      assert.ok(frame.ok);
      assert.ok(frame.events.length <= 300);
      for (const event of frame.events) {
        assert.equal(partitionForKey(String(event.user_id), 4), message.partition);
      }
      assert.equal(partitionForKey(message.key, 4), message.partition);
      seen.push(...frame.events);
    }
    assert.equal(seen.length, events.length);
    for (let partition = 0; partition < 4; partition++) {
      const expected = events.filter((event) => partitionForKey(String(event.user_id), 4) === partition);
      const got = seen.filter((event) => partitionForKey(String(event.user_id), 4) === partition);
      assert.deepEqual(got, expected);
    }
  });
});
