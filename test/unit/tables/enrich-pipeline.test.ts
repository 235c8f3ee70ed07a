import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputBuffer } from '../../../actors/partition/output-buffer.ts';
import { PartitionPipeline } from '../../../actors/partition/partition-pipeline.ts';
import type { PartitionPlan, SinkWrite } from '../../../actors/partition/partition-plan.ts';
import type { EnrichPlan } from '../../../actors/tables/enricher.ts';
import { tableReplica } from '../../../actors/tables/table-replica.ts';
import type { ActorContext } from '../../../runtime/actor.ts';
import { createLogger } from '../../../runtime/logger.ts';
import { discardingRecorder } from '../../../runtime/metrics-recorder.ts';

let tableSeq = 0;
/** A replica of its own per test (replicas are per-thread module state). */
function usersTable(rows: Array<[string, Record<string, unknown>]>): string {
  const name = `users_${++tableSeq}`;
  const replica = tableReplica(name);
  replica.apply(rows);
  replica.markReady();
  return name;
}

function plan(enrich: EnrichPlan[], withStream = false): PartitionPlan {
  return {
    source: 'payments',
    partition: 0,
    partitions: 1,
    keyField: 'user_id',
    timeField: 'ts',
    maxOutOfOrderMs: 0,
    idleTimeoutMs: null,
    batchSize: 1000,
    input: { kind: 'pushed', format: 'json' },
    windows: [
      {
        name: 'spend',
        operator: {
          window: { type: 'tumbling', sizeMs: 10 },
          allowedLatenessMs: 0,
          maxOutOfOrderMs: 0,
          groupBy: ['country'],
          aggregates: [
            { name: 'payments', fn: 'count' },
            { name: 'amount', fn: 'sum', field: 'amount' },
          ],
        },
        to: [{ sink: 'out', file: null }],
        late: null,
        enrich,
        transform: null,
      },
    ],
    streams: withStream
      ? [{ name: 'enriched', to: [{ sink: 'events', file: null }], enrich, transform: null }]
      : [],
    deadLetter: { sink: 'dlq', file: null },
    checkpoint: { dir: '/nonexistent', intervalMs: 10_000, keep: 3, snapshotEvery: 6 },
  };
}

function step(table: string, onMissing: EnrichPlan['onMissing']): EnrichPlan {
  return {
    table,
    on: 'user_id',
    fields: [{ field: 'country', column: 'country' }],
    onMissing,
    awaitTable: true,
  };
}

/** Runs batches; `between[i]` runs after batch i (a table change while the stream flows). */
async function run(
  pipelinePlan: PartitionPlan,
  batches: Array<Array<Record<string, unknown>>>,
  between: Array<() => void> = [],
): Promise<Map<string, Array<Record<string, unknown>>>> {
  const writes: SinkWrite[] = [];
  const ctx: ActorContext = {
    name: 'test',
    emit: async (channel, payload) => {
      if (channel === 'sink') writes.push(payload as SinkWrite);
    },
    setTimer() {},
    cancelTimer() {},
    metrics: discardingRecorder,
    log: createLogger({ level: 'error' }),
  };
  const pipeline = await PartitionPipeline.create(pipelinePlan);
  assert.equal(pipeline.tablesPending(), null);
  const output = new OutputBuffer();
  let position = 1;
  for (const [index, batch] of batches.entries()) {
    const positions = batch.map(() => position++);
    pipeline.process(
      batch,
      batch.map((event) => event.ts as number),
      positions,
      output,
    );
    await output.flush(ctx);
    between[index]?.();
  }
  pipeline.endOfInput(output);
  await output.flush(ctx);
  const bySink = new Map<string, Array<Record<string, unknown>>>();
  for (const write of writes) {
    const lines = write.data
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    bySink.set(write.sink, [...(bySink.get(write.sink) ?? []), ...lines]);
  }
  return bySink;
}

const payments = [
  { user_id: 1, ts: 1, amount: 10 },
  { user_id: '2', ts: 2, amount: 20 },
  { user_id: 3, ts: 3, amount: 30 },
  { user_id: 1, ts: 4, amount: 40 },
];

describe('enrich step in the partition pipeline', () => {
  it('groups by a looked-up column; keep goes on with null for a missing row', async () => {
    const table = usersTable([
      ['1', { id: 1, country: 'US' }],
      ['2', { id: 2, country: 'FR' }],
    ]);
    const out = await run(plan([step(table, 'keep')]), [payments]);
    assert.deepEqual(
      out.get('out')?.map(({ country, payments: count, amount }) => ({ country, count, amount })),
      // Rows that fire together are ordered by their key's JSON: "FR" < "US" < null.
      [
        { country: 'FR', count: 1, amount: 20 },
        { country: 'US', count: 2, amount: 50 },
        { country: null, count: 1, amount: 30 },
      ],
    );
    assert.equal(out.get('dlq'), undefined);
  });

  it('drop skips an event without a row; dead-letter sends it with its position and the reason', async () => {
    const table = usersTable([
      ['1', { id: 1, country: 'US' }],
      ['2', { id: 2, country: 'FR' }],
    ]);
    const dropped = await run(plan([step(table, 'drop')]), [payments]);
    assert.deepEqual(
      dropped.get('out')?.map((row) => row.country),
      ['FR', 'US'],
    );
    assert.equal(dropped.get('dlq'), undefined);

    const dead = await run(plan([step(table, 'dead-letter')]), [payments]);
    assert.deepEqual(
      dead.get('out')?.map((row) => row.country),
      ['FR', 'US'],
    );
    const letters = dead.get('dlq') ?? [];
    assert.equal(letters.length, 1);
    assert.equal(letters[0].code, 'ENRICH_MISSING');
    assert.equal(letters[0].position, 3);
    assert.match(
      String(letters[0].reason),
      new RegExp(`spend: enrich ${table}: no row with key 3 \\(field user_id\\)`),
    );
    assert.deepEqual(JSON.parse(String(letters[0].raw)), { user_id: 3, ts: 3, amount: 30 });
  });

  it('an event meets the row as it is when the event is processed: a change applies from that point on', async () => {
    const table = usersTable([['1', { id: 1, country: 'US' }]]);
    const moves = () => tableReplica(table).apply([['1', { id: 1, country: 'CA' }]]);
    const out = await run(
      plan([step(table, 'keep')], true),
      [
        [
          { user_id: 1, ts: 1, amount: 1 },
          { user_id: 1, ts: 2, amount: 2 },
        ],
        [
          { user_id: 1, ts: 3, amount: 3 },
          { user_id: 1, ts: 11, amount: 4 },
        ],
      ],
      [moves],
    );
    assert.deepEqual(
      out.get('events')?.map((event) => [event.amount, event.country]),
      [
        [1, 'US'],
        [2, 'US'],
        [3, 'CA'],
        [4, 'CA'],
      ],
    );
    assert.deepEqual(
      out.get('out')?.map((row) => [row.window_start, row.country, row.amount]),
      [
        [0, 'CA', 3],
        [0, 'US', 3],
        [10, 'CA', 4],
      ],
    );
  });

  it('does not process events until its tables are bootstrapped', async () => {
    const name = `users_${++tableSeq}`;
    const pipeline = await PartitionPipeline.create(plan([step(name, 'keep')]));
    const pending = pipeline.tablesPending();
    assert.ok(pending instanceof Promise);
    let resolved = false;
    void pending.then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolved, false);
    tableReplica(name).markReady();
    await pending;
    assert.equal(pipeline.tablesPending(), null);
  });

  it("does not wait for a table its own cdc source loads (that wait would stop the table's own stream)", async () => {
    const name = `users_${++tableSeq}`;
    const pipeline = await PartitionPipeline.create(plan([{ ...step(name, 'keep'), awaitTable: false }]));
    assert.equal(pipeline.tablesPending(), null);
  });
});
