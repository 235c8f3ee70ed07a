import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CdcSource } from '../../../actors/cdc/cdc-source.ts';
import type { PartitionMessage } from '../../../actors/partition/partition-plan.ts';
import { LookupTables } from '../../../actors/tables/lookup-tables.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { Metrics } from '../../../runtime/metrics.ts';
import { parseTopology } from '../../../runtime/topology/load-topology.ts';
import type { Topology } from '../../../runtime/topology/topology-schema.ts';
import { WorkerPool } from '../../../runtime/worker-pool.ts';

const TOPOLOGY = `name: tables
workers: 1
checkpoint: { interval: 50ms }
sources:
  db:
    type: cdc
    connection: postgres://sluice@127.0.0.1:5432/shop
    slot: shop
    publication: shop
    tables: [public.users, public.orders]
  payments: { type: generator, key: user_id, count: 1 }
tables:
  users: { from: db, table: public.users, key: id }
streams:
  enriched:
    from: payments
    enrich: [{ table: users, on: user_id, fields: [country] }]
    to: [out]
sinks:
  out: { type: console }
`;

function change(op: 'r' | 'c' | 'u', id: number, country: string): Record<string, unknown> {
  return { before: null, after: { id, country }, op, source: {}, ts_ms: 0 };
}

function records(events: Record<string, unknown>[], positions: string[]): PartitionMessage {
  return { kind: 'records', events, positions, failures: [] };
}

async function withTables(
  run: (context: {
    topology: () => Topology;
    start: (topology: Topology) => Promise<LookupTables>;
  }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tables-'));
  const fatal: Error[] = [];
  const pool = new WorkerPool({
    size: 1,
    supervision: { maxRestarts: 0, withinMs: 1000 },
    onFatal: (e) => fatal.push(e),
  });
  await pool.start();
  const log = createLogger({ level: 'error' });
  try {
    await run({
      topology: () => parseTopology(TOPOLOGY, join(dir, 'tables.yaml')),
      start: (topology) =>
        LookupTables.start({ topology, pool, metrics: new Metrics(), log, onFatal: (e) => fatal.push(e) }),
    });
    assert.deepEqual(fatal, []);
  } finally {
    await pool.terminate();
    await rm(dir, { recursive: true, force: true });
  }
}

function fakeCdc(acks: Array<[number, string]>): CdcSource {
  return {
    onCheckpointed: (partition: number, position: string) => acks.push([partition, position]),
    confirmedLsn: () => '0/0',
    retainedWalBytes: async () => 0,
    stop: async () => {},
  } as unknown as CdcSource;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('lookup tables of a job', () => {
  it('feed the table partition to its table and its actor, and confirm the slot only once both checkpointed', async () => {
    await withTables(async ({ topology, start }) => {
      const tables = await start(topology());
      const delivered: Array<[number, PartitionMessage]> = [];
      const own = new Map<number, string | null>();
      const hooks = tables.cdcHooks('db', {
        deliver: async (partition, message) => {
          delivered.push([partition, message]);
        },
        resumeFrom: async (partition) => own.get(partition) ?? null,
      });
      assert.equal(await hooks.resumeFrom(0), null);
      const snapshot = records(
        [change('r', 1, 'US'), change('r', 2, 'DE')],
        ['snapshot@0/100#0/2', 'snapshot@0/100#1/2'],
      );
      await hooks.deliver(0, snapshot);
      await hooks.deliver(1, records([{ before: null, after: { id: 9 }, op: 'r' }], ['snapshot@0/100#0/1']));
      assert.deepEqual(
        delivered.map(([partition]) => partition),
        [0, 1],
        'every delivery still reaches the partition actor',
      );
      const acks: Array<[number, string]> = [];
      // The partition actor checkpoints during the snapshot, before the source has started.
      assert.equal(tables.partitionCheckpointed('db', 0, 'snapshot@0/100#1/2'), true);
      assert.equal(
        tables.partitionCheckpointed('db', 1, 'snapshot@0/100#0/1'),
        false,
        'no table on partition 1',
      );
      await tables.sourceStarted('db', fakeCdc(acks));
      await waitFor(() => acks.length > 0, 'the table checkpoint to confirm the snapshot');
      assert.deepEqual(acks, [[0, 'snapshot@0/100#1/2']]);

      await hooks.deliver(0, records([change('u', 1, 'FR')], ['0/200#0']));
      await sleep(150);
      assert.equal(acks.length, 1, 'the table checkpointed 0/200#0 but the partition actor has not');
      tables.partitionCheckpointed('db', 0, '0/200#0');
      assert.deepEqual(acks, [
        [0, 'snapshot@0/100#1/2'],
        [0, '0/200#0'],
      ]);
      await tables.stop();

      // Restarted: the source resumes the table partition from the lowest checkpoint of its consumers.
      const again = await start(topology());
      const redelivered: PartitionMessage[] = [];
      const resumed = again.cdcHooks('db', {
        deliver: async (_partition, message) => {
          redelivered.push(message);
        },
        resumeFrom: async () => '0/300#0',
      });
      assert.equal(await resumed.resumeFrom(0), '0/200#0');
      const acksAgain: Array<[number, string]> = [];
      await again.sourceStarted('db', fakeCdc(acksAgain));
      assert.deepEqual(acksAgain, [[0, '0/200#0']], 'what both consumers hold is confirmed at once');
      // Re-sent changes the partition actor's checkpoint holds reach only the table.
      await resumed.deliver(
        0,
        records(
          [change('u', 1, 'BR'), change('u', 2, 'CA'), change('u', 1, 'MX')],
          ['0/250#0', '0/300#0', '0/350#0'],
        ),
      );
      assert.deepEqual(
        redelivered.map((message) => (message.kind === 'records' ? message.positions : [])),
        [['0/350#0']],
      );
      // Once the table checkpoints them, the re-sent changes are confirmed up to the partition's own checkpoint.
      await waitFor(() => acksAgain.length === 2, 'the table checkpoint');
      assert.deepEqual(acksAgain[1], [0, '0/300#0']);
      await again.stop();
    });
  });

  it('refuse to resume a table that has no state while its partition has streamed on', async () => {
    await withTables(async ({ topology, start }) => {
      const tables = await start(topology());
      const hooks = tables.cdcHooks('db', { deliver: async () => {}, resumeFrom: async () => '0/200#0' });
      await assert.rejects(
        hooks.resumeFrom(0),
        /lookup table users has no state, but partition 0 of source db has a checkpoint/,
      );
      assert.equal(await hooks.resumeFrom(1), '0/200#0', 'a partition without a table resumes as before');
      await tables.stop();
    });
  });
});
