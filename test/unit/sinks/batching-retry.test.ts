import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, defaultRetryPolicy, withRetries } from '../../../actors/sinks/batching-retry.ts';
import { SluiceError } from '../../../runtime/errors.ts';

const noWait = { sleep: async () => {}, random: () => 1 };

describe('sink retries', () => {
  it('retries a retriable error until the operation succeeds', async () => {
    let calls = 0;
    const result = await withRetries(
      'insert',
      async () => {
        calls++;
        if (calls < 4) throw new SluiceError('X', 'down', { retriable: true });
        return 'ok';
      },
      defaultRetryPolicy,
      noWait,
    );
    assert.equal(result, 'ok');
    assert.equal(calls, 4);
  });

  it('rethrows a non-retriable error at once, without retrying', async () => {
    let calls = 0;
    const failure = new SluiceError('BAD', 'bad config');
    await assert.rejects(
      withRetries(
        'insert',
        async () => {
          calls++;
          throw failure;
        },
        defaultRetryPolicy,
        noWait,
      ),
      (error) => error === failure,
    );
    assert.equal(calls, 1);
  });

  it('wraps exhaustion in SLUICE_ERR_SINK_RETRIES_EXHAUSTED with the last error as cause', async () => {
    const last = new SluiceError('X', 'still down', { retriable: true });
    await assert.rejects(
      withRetries(
        'insert',
        async () => {
          throw last;
        },
        { ...defaultRetryPolicy, maxAttempts: 3 },
        noWait,
      ),
      (error: SluiceError) =>
        error.code === 'SLUICE_ERR_SINK_RETRIES_EXHAUSTED' &&
        error.cause === last &&
        /3 attempts/.test(error.message),
    );
  });

  it('grows the delay exponentially up to the maximum, with jitter below the ceiling', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, maxAttempts: 10 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(policy, attempt, 1)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(backoffDelay(policy, 3, 0), 40);
    for (let draw = 0; draw < 100; draw++) {
      const delay = backoffDelay(policy, 4, Math.random());
      assert.ok(delay >= 80 && delay <= 800);
    }
  });

  it('reports every retry with its attempt and delay', async () => {
    const seen: Array<[number, number]> = [];
    let calls = 0;
    await withRetries(
      'insert',
      async () => {
        if (++calls < 3) throw new SluiceError('X', 'down', { retriable: true });
      },
      defaultRetryPolicy,
      { ...noWait, onRetry: (_error, attempt, delayMs) => seen.push([attempt, delayMs]) },
    );
    assert.deepEqual(seen, [
      [1, 100],
      [2, 200],
    ]);
  });
});
