import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor, ActorFactory } from '../../../runtime/actor.ts';
import { ActorCell, type ActorCellOptions } from '../../../runtime/actor-cell.ts';
import { RestartLimitExceededError } from '../../../runtime/actor-errors.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';

const quiet = createLogger({ level: 'error', write: () => {} });

function cellOf<M>(
  factory: ActorFactory<null, M>,
  overrides: Partial<ActorCellOptions<null, M>> = {},
): { cell: ActorCell<null, M>; emitted: unknown[]; fatal: RestartLimitExceededError[]; metrics: Metrics } {
  const emitted: unknown[] = [];
  const fatal: RestartLimitExceededError[] = [];
  const metrics = new Metrics();
  const cell = new ActorCell<null, M>({
    name: 'test-actor',
    factory,
    config: null,
    capacity: 4,
    supervision: { maxRestarts: 3, withinMs: 10_000 },
    emit: async (channel, payload) => {
      emitted.push([channel, payload]);
    },
    metrics,
    log: quiet,
    onFatal: (error) => fatal.push(error),
    manual: true,
    ...overrides,
  });
  return { cell, emitted, fatal, metrics };
}

describe('ActorCell', () => {
  it('processes one message per step, in order, and emits through its context', async () => {
    const { cell, emitted } = cellOf<number>(() => ({
      receive: (n, ctx) => ctx.emit('out', n * 2),
    }));
    await cell.start();
    await cell.tell(1);
    await cell.tell(2);
    assert.equal(cell.depth, 2);
    assert.equal(await cell.runStep(), true);
    assert.deepEqual(emitted, [['out', 2]]);
    assert.equal(await cell.runStep(), true);
    assert.equal(await cell.runStep(), false);
    assert.deepEqual(emitted, [
      ['out', 2],
      ['out', 4],
    ]);
  });

  it('answers asks in order with the messages told before them', async () => {
    const seen: number[] = [];
    const { cell } = cellOf<number>(() => ({
      receive: (n) => {
        seen.push(n);
      },
      request: (kind) => (kind === 'seen' ? [...seen] : undefined),
    }));
    await cell.start();
    await cell.tell(1);
    const reply = cell.ask('seen');
    await cell.tell(2);
    while (await cell.runStep());
    assert.deepEqual(await reply, [1]);
  });

  it('delivers a timer through the mailbox after the messages already queued', async () => {
    const events: string[] = [];
    const { cell } = cellOf<string>(() => ({
      start: (ctx) => ctx.setTimer('tick', 5),
      receive: (m) => {
        events.push(m);
      },
      timer: (tag) => {
        events.push(`timer:${tag}`);
      },
    }));
    await cell.start();
    await cell.tell('before');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await cell.tell('after');
    while (await cell.runStep());
    assert.deepEqual(events, ['before', 'timer:tick', 'after']);
  });

  it('never fires a cancelled or replaced timer', async () => {
    const fired: string[] = [];
    const { cell } = cellOf<string>(() => ({
      start: (ctx) => {
        ctx.setTimer('a', 5);
        ctx.setTimer('b', 5);
        ctx.cancelTimer('a');
        ctx.setTimer('b', 10);
      },
      timer: (tag) => {
        fired.push(tag);
      },
    }));
    await cell.start();
    await new Promise((resolve) => setTimeout(resolve, 40));
    while (await cell.runStep());
    assert.deepEqual(fired, ['b']);
  });

  it('restarts an actor that throws, counts the restart, and goes on with the next message', async () => {
    const incarnations: Array<{ restarts: number; lastError?: unknown }> = [];
    const handled: string[] = [];
    const { cell, metrics, fatal } = cellOf<string>((_config, info) => {
      incarnations.push({ restarts: info.restarts, lastError: info.lastError });
      return {
        receive: (m) => {
          if (m === 'poison') throw new Error('cannot digest');
          handled.push(`${m}@${info.restarts}`);
        },
      };
    });
    await cell.start();
    for (const m of ['a', 'poison', 'b']) await cell.tell(m);
    while (await cell.runStep());
    assert.deepEqual(handled, ['a@0', 'b@1']);
    assert.equal(cell.restarts, 1);
    assert.equal(incarnations[1]!.restarts, 1);
    assert.match(String(incarnations[1]!.lastError), /cannot digest/);
    assert.equal(fatal.length, 0);
    assert.match(await metrics.text(), /sluice_actor_restarts_total\{actor="test-actor"\} 1/);
  });

  it('rejects an ask whose handler throws and restarts the actor', async () => {
    const { cell } = cellOf<string>(() => ({
      request: () => {
        throw new Error('bad request');
      },
    }));
    await cell.start();
    const reply = cell.ask('anything');
    await cell.runStep();
    await assert.rejects(reply, /bad request/);
    assert.equal(cell.restarts, 1);
  });

  it('fails for good with RestartLimitExceeded past maxRestarts within the window', async () => {
    const { cell, fatal } = cellOf<string>(
      () => ({
        receive: () => {
          throw new Error('always broken');
        },
      }),
      { supervision: { maxRestarts: 2, withinMs: 60_000 } },
    );
    await cell.start();
    for (let i = 0; i < 4; i++) await cell.tell(`m${i}`);
    const pending = cell.ask('never-served');
    while (await cell.runStep());
    assert.equal(fatal.length, 1);
    assert.ok(fatal[0] instanceof RestartLimitExceededError);
    assert.equal(fatal[0]!.code, 'SLUICE_ERR_RESTART_LIMIT_EXCEEDED');
    assert.match(fatal[0]!.message, /actor test-actor failed 3 times within 60000 ms.*always broken/);
    assert.equal(cell.state, 'FAILED');
    assert.equal(cell.restarts, 2);
    await assert.rejects(pending, RestartLimitExceededError);
    await assert.rejects(cell.tell('more'));
  });

  it('forgives failures older than the supervision window', async () => {
    let now = 0;
    const { cell, fatal } = cellOf<string>(
      () => ({
        receive: () => {
          throw new Error('flaky');
        },
      }),
      { supervision: { maxRestarts: 1, withinMs: 1000 }, now: () => now },
    );
    await cell.start();
    for (let i = 0; i < 4; i++) {
      await cell.tell('m');
      await cell.runStep();
      now += 1500;
    }
    assert.equal(fatal.length, 0);
    assert.equal(cell.restarts, 4);
  });

  it('counts a failing restart against the same budget instead of looping', async () => {
    let created = 0;
    const { cell, fatal } = cellOf<string>(
      () => {
        created++;
        if (created > 1) throw new Error('cannot restore state');
        return {
          receive: () => {
            throw new Error('first failure');
          },
        };
      },
      { supervision: { maxRestarts: 3, withinMs: 60_000 } },
    );
    await cell.start();
    await cell.tell('x');
    await cell.runStep();
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]!.message, /cannot restore state/);
    assert.equal(created, 4);
  });

  it('drains every accepted message before calling stop, then waits for emits', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const { cell } = cellOf<string>(
      () => ({
        receive: (m, ctx) => {
          order.push(m);
          void ctx.emit('out', m);
        },
        stop: () => {
          order.push('stop');
        },
      }),
      {
        manual: false,
        emit: (_channel, payload) =>
          payload === 'c'
            ? new Promise<void>((resolve) => {
                release = resolve;
              })
            : Promise.resolve(),
      },
    );
    await cell.start();
    for (const m of ['a', 'b', 'c']) await cell.tell(m);
    let stopped = false;
    const stopping = cell.stop().then(() => {
      stopped = true;
    });
    await assert.rejects(cell.tell('late'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(order, ['a', 'b', 'c', 'stop']);
    assert.equal(stopped, false);
    release();
    await stopping;
    assert.equal(cell.state, 'STOPPED');
  });

  it('slows the actor when its emits are not acknowledged (emit window)', async () => {
    const acks: Array<() => void> = [];
    let received = 0;
    const { cell } = cellOf<number>(
      () => ({
        receive: (n, ctx) => {
          received++;
          void ctx.emit('out', n);
        },
      }),
      {
        manual: false,
        capacity: 100,
        emitWindow: 2,
        emit: () => new Promise<void>((resolve) => acks.push(resolve)),
      },
    );
    await cell.start();
    for (let i = 0; i < 10; i++) await cell.tell(i);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(acks.length, 2);
    assert.equal(received, 3);
    while (acks.length > 0) {
      acks.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await cell.stop();
    assert.equal(received, 10);
  });

  it('runs by itself when not in manual mode', async () => {
    const seen: number[] = [];
    const { cell } = cellOf<number>(
      (): Actor<number> => ({
        receive: async (n) => {
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(n);
        },
      }),
      { manual: false },
    );
    await cell.start();
    for (let i = 0; i < 20; i++) await cell.tell(i);
    await cell.stop();
    assert.deepEqual(
      seen,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });
});
