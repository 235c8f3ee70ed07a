import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionForKey } from '../../../actors/codecs/murmur2.ts';
import { createGenerator, EventTiming, GeneratorOptionsError } from '../../../actors/generator/index.ts';

const START = Date.UTC(2024, 4, 1, 12);

function countBy<T>(values: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

describe('createGenerator', () => {
  it('produces events with key, time, a 2-decimal amount and one of 50 pages', () => {
    const { events, times } = createGenerator({ keys: 100, startTime: START }).nextBatch(2000);
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      assert.deepEqual(Object.keys(event), ['user_id', 'ts', 'amount', 'page']);
      assert.match(event.user_id as string, /^u([0-9]|[1-9][0-9])$/);
      assert.equal(event.ts, times[i]);
      assert.ok(Number.isInteger(event.ts));
      const amount = event.amount as number;
      assert.ok(amount >= 0 && amount <= 500);
      assert.equal(Math.round(amount * 100) / 100, amount);
      assert.match(event.page as string, /^\/p\/([0-9]|[1-4][0-9])$/);
    }
    assert.equal(new Set(events.map((event) => event.page)).size, 50);
  });

  it('uses the configured key and time field names', () => {
    const [event] = createGenerator({ keyField: 'account', timeField: 'at' }).nextBatch(1).events;
    assert.deepEqual(Object.keys(event), ['account', 'at', 'amount', 'page']);
  });

  it('is fully deterministic for a seed, and different seeds differ', () => {
    const options = {
      seed: 7,
      keys: 1000,
      skew: 0.8,
      outOfOrder: 0.2,
      maxOutOfOrderMs: 500,
      late: 0.05,
      lateByMs: 1000,
    };
    const first = createGenerator(options).nextBatch(5000);
    const second = createGenerator(options).nextBatch(5000);
    assert.deepEqual(second, first);
    const other = createGenerator({ ...options, seed: 8 }).nextBatch(5000);
    assert.notDeepEqual(other.events, first.events);
  });

  it('gives the same events whatever the batch sizes', () => {
    const options = {
      seed: 3,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 100,
      late: 0.1,
      lateByMs: 50,
      eventsPerSecond: 250,
    };
    const whole = createGenerator(options).nextBatch(1000).events;
    const generator = createGenerator(options);
    const pieces = [];
    for (const size of [1, 0, 7, 92, 400, 500]) pieces.push(...generator.nextBatch(size).events);
    assert.deepEqual(pieces, whole);
    assert.equal(generator.produced, 1000);
  });

  it('spaces base times by 1000 / eventsPerSecond from startTime, and keeps them monotone', () => {
    const { times, timings } = createGenerator({ startTime: START, eventsPerSecond: 400 }).nextBatch(4000);
    for (let i = 0; i < times.length; i++) {
      assert.equal(timings[i], EventTiming.inOrder);
      assert.equal(times[i], START + Math.floor((i * 1000) / 400));
      if (i > 0) assert.ok(times[i] >= times[i - 1]);
    }
  });

  it('advances event time by 1 ms per 1,000 events when no rate is given', () => {
    const { times } = createGenerator({ startTime: START }).nextBatch(5001);
    assert.equal(times[0], START);
    assert.equal(times[999], START);
    assert.equal(times[1000], START + 1);
    assert.equal(times[5000], START + 5);
  });

  it('draws keys about uniformly when skew is 0', () => {
    const { events } = createGenerator({ keys: 10, seed: 11 }).nextBatch(100_000);
    const counts = countBy(events.map((event) => event.user_id));
    assert.equal(counts.size, 10);
    for (const count of counts.values()) assert.ok(Math.abs(count - 10_000) < 500, `count ${count}`);
  });

  it('draws keys with Zipf skew: rank r has weight 1/(r+1)^skew', () => {
    const { events } = createGenerator({ keys: 1000, skew: 1, seed: 5 }).nextBatch(200_000);
    const counts = countBy(events.map((event) => event.user_id));
    const harmonic = Array.from({ length: 1000 }, (_, r) => 1 / (r + 1)).reduce((a, b) => a + b);
    const expectedTop = 200_000 / harmonic;
    assert.ok(Math.abs(counts.get('u0')! - expectedTop) < expectedTop * 0.05);
    const ratio = counts.get('u0')! / counts.get('u1')!;
    assert.ok(ratio > 1.8 && ratio < 2.2, `u0/u1 = ${ratio}`);
    assert.ok(counts.get('u0')! > counts.get('u9')! * 8);
  });

  it('moves the out-of-order fraction back by at most maxOutOfOrderMs and the late fraction past it', () => {
    const maxOutOfOrderMs = 2000;
    const lateByMs = 10_000;
    const generator = createGenerator({
      seed: 21,
      startTime: START,
      eventsPerSecond: 1000,
      outOfOrder: 0.2,
      maxOutOfOrderMs,
      late: 0.05,
      lateByMs,
    });
    const { times, timings } = generator.nextBatch(100_000);
    const counts = countBy([...timings]);
    assert.ok(Math.abs(counts.get(EventTiming.outOfOrder)! / 100_000 - 0.2) < 0.01);
    assert.ok(Math.abs(counts.get(EventTiming.late)! / 100_000 - 0.05) < 0.005);
    for (let i = 0; i < times.length; i++) {
      const behind = START + i - times[i];
      if (timings[i] === EventTiming.inOrder) assert.equal(behind, 0);
      if (timings[i] === EventTiming.outOfOrder) assert.ok(behind >= 0 && behind <= maxOutOfOrderMs);
      if (timings[i] === EventTiming.late) {
        assert.ok(behind > maxOutOfOrderMs + lateByMs && behind <= maxOutOfOrderMs + 2 * lateByMs + 1);
      }
    }
  });

  it('never puts an out-of-order event behind the watermark', () => {
    const maxOutOfOrderMs = 300;
    const { times } = createGenerator({
      seed: 4,
      outOfOrder: 0.5,
      maxOutOfOrderMs,
      eventsPerSecond: 5000,
    }).nextBatch(50_000);
    let maxSeen = Number.NEGATIVE_INFINITY;
    for (const time of times) {
      assert.ok(time >= maxSeen - maxOutOfOrderMs);
      maxSeen = Math.max(maxSeen, time);
    }
  });

  it('generates only the keys murmur2 assigns to its partition, when given one', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 4; index++) {
      const generator = createGenerator({ keys: 200, partition: { index, count: 4 }, seed: index });
      for (const event of generator.nextBatch(5000).events) {
        const key = event.user_id as string;
        assert.equal(partitionForKey(key, 4), index);
        seen.add(key);
      }
    }
    assert.equal(seen.size, 200);
  });

  it('refuses a partition that no key falls into, naming the keys option', () => {
    assert.throws(
      () =>
        createGenerator({ keys: 1, partition: { index: partitionForKey('u0', 2) === 0 ? 1 : 0, count: 2 } }),
      (error) => error instanceof GeneratorOptionsError && error.option === 'keys',
    );
  });

  it('takes base times from the wall clock when clock is wall', () => {
    const before = Date.now();
    const { times } = createGenerator({ clock: 'wall' }).nextBatch(100);
    const after = Date.now();
    for (const time of times) assert.ok(time >= before && time <= after);
  });

  it('refuses bad options with the option name and a stable code', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ keys: 0 }, 'keys'],
      [{ keys: 1.5 }, 'keys'],
      [{ skew: -1 }, 'skew'],
      [{ outOfOrder: 1.5 }, 'outOfOrder'],
      [{ outOfOrder: 0.7, late: 0.4 }, 'late'],
      [{ eventsPerSecond: -1 }, 'eventsPerSecond'],
      [{ timeField: 'user_id' }, 'timeField'],
      [{ keyField: 'amount' }, 'keyField'],
      [{ clock: 'sundial' }, 'clock'],
      [{ partition: { index: 4, count: 4 } }, 'partition.index'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => createGenerator(options),
        (error) =>
          error instanceof GeneratorOptionsError &&
          error.option === option &&
          error.code === 'SLUICE_ERR_GENERATOR_OPTION',
        JSON.stringify(options),
      );
    }
  });
});
