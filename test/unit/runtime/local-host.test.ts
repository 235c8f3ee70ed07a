import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartLimitExceededError } from '../../../runtime/actor-errors.ts';
import { spawnLocal } from '../../../runtime/local-host.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';

const quiet = createLogger({ level: 'error', write: () => {} });

describe('spawnLocal', () => {
  it('runs an actor on the main thread with bounded tells, ordered asks and emits', async () => {
    const rows: unknown[] = [];
    const fatal: RestartLimitExceededError[] = [];
    const ref = await spawnLocal<{ factor: number }, number[]>({
      name: 'sink',
      factory: (config) => {
        let total = 0;
        return {
          receive: async (batch, ctx) => {
            total += batch.length;
            await ctx.emit(
              'rows',
              batch.map((n) => n * config.factor),
            );
          },
          request: () => total,
        };
      },
      config: { factor: 10 },
      capacity: 2,
      supervision: { maxRestarts: 1, withinMs: 1000 },
      onEmit: (_channel, payload) => {
        rows.push(payload);
      },
      onFatal: (error) => fatal.push(error),
      metrics: new Metrics(),
      log: quiet,
    });
    await ref.tell([1, 2]);
    await ref.tell([3]);
    assert.equal(await ref.ask<number>('total'), 3);
    await ref.stop();
    assert.deepEqual(rows, [[10, 20], [30]]);
    assert.equal(ref.depth, 0);
    assert.equal(fatal.length, 0);
    await assert.rejects(ref.tell([4]));
  });

  it('reports a fatal error once the restart budget is spent', async () => {
    const fatal: RestartLimitExceededError[] = [];
    const ref = await spawnLocal<null, string>({
      name: 'broken-sink',
      factory: () => ({
        receive: () => {
          throw new Error('disk full');
        },
      }),
      config: null,
      capacity: 4,
      supervision: { maxRestarts: 1, withinMs: 60_000 },
      onEmit: () => {},
      onFatal: (error) => fatal.push(error),
      log: quiet,
    });
    await ref.tell('a');
    await ref.tell('b');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]!.message, /broken-sink failed 2 times.*disk full/);
  });
});
