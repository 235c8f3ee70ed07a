import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ActorRef } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { WorkerPool, type WorkerPoolOptions } from '../../../runtime/worker-pool.ts';
import type { EchoBatch } from './fixtures/echo-actor.ts';

const fixture = new URL('./fixtures/echo-actor.ts', import.meta.url).href;
const quiet = createLogger({ level: 'error', write: () => {} });

function batch(seq: number, values: number[]): [EchoBatch, ArrayBuffer[]] {
  const array = Float64Array.from(values);
  return [{ seq, values: array }, [array.buffer as ArrayBuffer]];
}

async function poolWith(overrides: Partial<WorkerPoolOptions> = {}) {
  const fatal: Error[] = [];
  const metrics = new Metrics();
  const pool = new WorkerPool({
    size: 1,
    supervision: { maxRestarts: 2, withinMs: 60_000 },
    onFatal: (error) => fatal.push(error),
    metrics,
    log: quiet,
    ...overrides,
  });
  await pool.start();
  return { pool, fatal, metrics };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('WorkerPool', () => {
  describe('with one healthy actor', () => {
    let context: Awaited<ReturnType<typeof poolWith>>;
    let ref: ActorRef<EchoBatch>;
    const outputs: Array<[string, unknown]> = [];

    before(async () => {
      context = await poolWith();
      ref = await context.pool.spawn<EchoBatch>({
        worker: 0,
        name: 'echo-0',
        module: fixture,
        exportName: 'createEchoActor',
        config: { partition: '0' },
        capacity: 8,
        onEmit: (channel, payload) => {
          outputs.push([channel, payload]);
        },
      });
    });

    after(() => context.pool.terminate());

    it('moves a batch buffer to the worker and delivers the actor output to onEmit', async () => {
      const [message, transfer] = batch(1, [1, 2, 3.5]);
      await ref.tell(message, transfer);
      assert.equal(message.values.byteLength, 0, 'the buffer was transferred, not copied');
      await waitFor(() => outputs.length === 1);
      assert.deepEqual(outputs[0], ['out', { seq: 1, sum: 6.5 }]);
    });

    it('answers asks in order with the batches told before them', async () => {
      const [message, transfer] = batch(2, [1]);
      await ref.tell(message, transfer);
      const info = await ref.ask<{ batches: number }>('info');
      assert.equal(info.batches, 2);
      assert.deepEqual(await ref.ask('echo', { nested: [1, 'two'] }), { nested: [1, 'two'] });
    });

    it('rejects an ask whose handler throws, restarts the actor and keeps serving', async () => {
      await assert.rejects(ref.ask('throw'), /requested failure/);
      const info = await ref.ask<{ restarts: number; lastError: string }>('info');
      assert.equal(info.restarts, 1);
      assert.match(info.lastError, /requested failure/);
      assert.equal(context.fatal.length, 0);
    });

    it('shows metrics recorded in the worker in the main registry', async () => {
      await waitFor(() => context.metrics.snapshot().eventsIn === 4, 2000);
      const text = await context.metrics.text();
      assert.match(text, /sluice_events_in_total\{source="fixture",partition="0"\} 4/);
      assert.match(text, /sluice_actor_restarts_total\{actor="echo-0"\} 1/);
      assert.match(text, /sluice_processing_latency_seconds_count\{source="fixture"\} 2/);
    });
  });

  it('rejects a spawn whose module lacks the factory export', async () => {
    const { pool } = await poolWith();
    try {
      await assert.rejects(
        pool.spawn({
          worker: 0,
          name: 'nothing',
          module: fixture,
          exportName: 'noSuchFactory',
          config: {},
          capacity: 1,
          onEmit: () => {},
        }),
        (error: Error & { code?: string }) =>
          error.code === 'SLUICE_ERR_ACTOR_SPAWN' && /no function export noSuchFactory/.test(error.message),
      );
    } finally {
      await pool.terminate();
    }
  });

  it('makes tell wait while the consumer is slow, keeping in-flight batches bounded', async () => {
    const capacity = 4;
    const emitWindow = 2;
    const { pool } = await poolWith({ emitWindow });
    let accepted = 0;
    let acknowledged = 0;
    let concurrentEmits = 0;
    let maxConcurrentEmits = 0;
    let maxInFlight = 0;
    const ref = await pool.spawn<EchoBatch>({
      worker: 0,
      name: 'slow-consumer',
      module: fixture,
      exportName: 'createEchoActor',
      config: { partition: '0' },
      capacity,
      onEmit: async () => {
        concurrentEmits++;
        maxConcurrentEmits = Math.max(maxConcurrentEmits, concurrentEmits);
        await new Promise((resolve) => setTimeout(resolve, 2));
        concurrentEmits--;
        acknowledged++;
      },
    });
    // The producer runs flat out for one second with 64 KiB batches; only the slow
    // consumer's pace lets it through, so memory stays flat.
    const rssBefore = process.memoryUsage().rss;
    let maxRssGrowth = 0;
    const started = Date.now();
    while (Date.now() - started < 1000) {
      const [message, transfer] = batch(accepted, new Array(8192).fill(1));
      await ref.tell(message, transfer);
      accepted++;
      maxInFlight = Math.max(maxInFlight, accepted - acknowledged);
      if (accepted % 20 === 0) maxRssGrowth = Math.max(maxRssGrowth, process.memoryUsage().rss - rssBefore);
    }
    await pool.stop();
    // One batch may sit in the actor between the mailbox (its credit already returned)
    // and the emit window.
    assert.ok(maxInFlight <= capacity + emitWindow + 1, `in flight reached ${maxInFlight}`);
    assert.ok(maxConcurrentEmits <= emitWindow, `concurrent emits reached ${maxConcurrentEmits}`);
    assert.ok(accepted < 700, `the producer was held to the consumer's pace (${accepted} batches in 1 s)`);
    assert.ok(maxRssGrowth < 64 * 1024 * 1024, `RSS grew by ${maxRssGrowth} bytes`);
    assert.equal(acknowledged, accepted + 1, 'every batch and the stop output were delivered');
  });

  it('drains every accepted batch on graceful stop, across two workers', async () => {
    const { pool, metrics } = await poolWith({ size: 2 });
    const seen = new Map<string, number[]>();
    const refs = await Promise.all(
      [0, 1].map((worker) =>
        pool.spawn<EchoBatch>({
          worker,
          name: `drain-${worker}`,
          module: fixture,
          exportName: 'createEchoActor',
          config: { partition: String(worker) },
          capacity: 16,
          onEmit: (channel, payload) => {
            const list = seen.get(`${worker}:${channel}`) ?? [];
            list.push((payload as { seq?: number; batches?: number }).seq ?? -1);
            seen.set(`${worker}:${channel}`, list);
          },
        }),
      ),
    );
    for (let seq = 0; seq < 300; seq++) {
      const [message, transfer] = batch(seq, [1, 1]);
      await refs[seq % 2]!.tell(message, transfer);
    }
    await pool.stop();
    for (const worker of [0, 1]) {
      const expected = Array.from({ length: 150 }, (_, i) => i * 2 + worker);
      assert.deepEqual(
        seen.get(`${worker}:out`),
        expected,
        `worker ${worker} delivered every batch in order`,
      );
      assert.equal(seen.get(`${worker}:stopped`)?.length, 1);
    }
    assert.equal(metrics.snapshot().eventsIn, 600, 'the final metrics were flushed before stop resolved');
  });

  it('reports a fatal error when an actor exceeds its restart limit in a worker', async () => {
    const { pool, fatal } = await poolWith({ supervision: { maxRestarts: 1, withinMs: 60_000 } });
    try {
      const ref = await pool.spawn({
        worker: 0,
        name: 'fragile',
        module: fixture,
        exportName: 'createEchoActor',
        config: { partition: '0' },
        capacity: 1,
        onEmit: () => {},
      });
      await assert.rejects(ref.ask('throw'));
      await assert.rejects(ref.ask('throw'));
      await waitFor(() => fatal.length === 1);
      const error = fatal[0] as Error & { code?: string };
      assert.equal(error.code, 'SLUICE_ERR_RESTART_LIMIT_EXCEEDED');
      assert.match(error.message, /actor fragile failed 2 times.*requested failure/);
      await assert.rejects(ref.ask('info'), /failed 2 times/);
    } finally {
      await pool.terminate();
    }
  });

  for (const [request, reason] of [
    ['crash-process', /worker 0 failed: uncaught error: Error: outside supervision/],
    ['exit-thread', /worker 0 failed: exited unexpectedly with code 3/],
  ] as const) {
    it(`calls onFatal when a worker dies outside supervision (${request})`, async () => {
      const { pool, fatal } = await poolWith();
      try {
        const ref = await pool.spawn({
          worker: 0,
          name: 'doomed',
          module: fixture,
          exportName: 'createEchoActor',
          config: { partition: '0' },
          capacity: 1,
          onEmit: () => {},
        });
        await ref.ask(request);
        await waitFor(() => fatal.length > 0);
        assert.equal((fatal[0] as Error & { code?: string }).code, 'SLUICE_ERR_WORKER_FAILED');
        assert.match(fatal[0]!.message, reason);
        await assert.rejects(ref.tell(batch(0, [1])[0]), /worker 0 failed/);
      } finally {
        await pool.terminate();
      }
    });
  }
});
