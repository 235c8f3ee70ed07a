// Tests `runtime/cli/commands/checkpoints.ts` (kept here with the state tests it depends on).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeWindowChanges, windowNamespace } from '../../../actors/partition/window-state-codec.ts';
import { WindowOperator } from '../../../actors/windows/index.ts';
import { run } from '../../../runtime/cli/commands/checkpoints.ts';
import { CliArgumentError } from '../../../runtime/errors.ts';
import { PartitionStore } from '../../../state/index.ts';
import { withTempDir } from './fixtures/temp-dir.ts';

const TOPOLOGY = `name: clicks
sources:
  events:
    type: generator
    keys: 10
    rate: 10
    partitions: 2
    time: { field: ts, maxOutOfOrder: 1s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 1m }
    groupBy: [user_id]
    aggregate: { events: count() }
    to: [out]
sinks:
  out: { type: file, path: ./out.jsonl }
`;

async function capture(argv: string[]): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await run(argv), out };
  } finally {
    process.stdout.write = write;
  }
}

async function statePartition(dir: string, rounds: number): Promise<void> {
  const store = await PartitionStore.open({ dir });
  for (let round = 1; round <= rounds; round += 1) {
    await store.commit({
      checkpoint: {
        sourcePosition: { line: round },
        watermark: 60_000 * round,
        sinkPositions: {},
        emitted: null,
        meta: {},
      },
      puts: [['per_user', `u${round}`, Buffer.from('v')]],
      deletes: [],
    });
    await store.snapshot(5);
  }
  await store.close();
}

describe('sluice checkpoints', () => {
  it('lists each partition of the default state folder beside the topology', async () => {
    await withTempDir(async (root) => {
      const topology = join(root, 'clicks.yaml');
      await writeFile(topology, TOPOLOGY);
      await statePartition(join(root, '.sluice', 'clicks', 'events', '0'), 2);
      const { code, out } = await capture(['list', topology]);
      assert.equal(code, 0);
      assert.match(
        out,
        /^events\/0 {2}checkpoint 2 {2}\S+Z {2}position \{"line":2\} {2}watermark 1970-01-01T00:02:00.000Z {2}rows 0 {2}entries 2 \(\d+ B\) {2}disk .+ {2}snapshots 2\/2\n$/,
      );
    });
  });

  it('inspects, then rolls a partition back to a named snapshot', async () => {
    await withTempDir(async (root) => {
      const topology = join(root, 'clicks.yaml');
      await writeFile(topology, TOPOLOGY);
      const stateDir = join(root, 'state');
      await statePartition(join(stateDir, 'events', '1'), 3);
      const inspected = await capture(['inspect', topology, '--state-dir', stateDir, '--partition', '1']);
      assert.equal(inspected.code, 0);
      assert.match(inspected.out, /namespace {3}per_user: 3 entries, \d+ B/);
      assert.match(inspected.out, /snapshot {4}snapshot-0{15}1\.snap {2}checkpoint 1, /);

      const rolled = await capture([
        'restore-from',
        topology,
        '--state-dir',
        stateDir,
        '--source',
        'events',
        '--partition',
        '1',
        '--snapshot',
        'snapshot-0000000000000001.snap',
      ]);
      assert.equal(rolled.code, 0);
      assert.match(rolled.out, /events\/1: rolled back from checkpoint 3 to checkpoint 1 /);
      assert.equal(rolled.out.match(/set aside/g)?.length, 2);
      const listed = await capture(['list', topology, '--state-dir', stateDir]);
      assert.match(listed.out, /checkpoint 1 .* entries 1 .* snapshots 1\/1/);
    });
  });

  it('counts window rows, not stored key-group values, and shows the bytes stored', async () => {
    await withTempDir(async (root) => {
      const topology = join(root, 'clicks.yaml');
      await writeFile(topology, TOPOLOGY);
      const stateDir = join(root, 'state');
      const operator = new WindowOperator({
        window: { type: 'tumbling', sizeMs: 60_000 },
        allowedLatenessMs: 0,
        maxOutOfOrderMs: 60_000,
        groupBy: ['user_id'],
        aggregates: [{ name: 'events', fn: 'count' }],
      });
      const ignore = { row() {}, late() {} };
      // 5,000 keys in two windows: 10,000 rows in at most 2 × 1,024 key-group values.
      for (let key = 0; key < 5000; key++) operator.process({ user_id: `u${key}` }, 1000, ignore);
      for (let key = 0; key < 5000; key++) operator.process({ user_id: `u${key}` }, 30_000, ignore);
      for (let key = 0; key < 5000; key++) operator.process({ user_id: `u${key}` }, 61_000, ignore);
      const encoded = encodeWindowChanges(operator.captureChanges(true));
      const store = await PartitionStore.open({ dir: join(stateDir, 'events', '0') });
      await store.commit({
        checkpoint: {
          sourcePosition: { line: 15_000 },
          watermark: 61_000,
          sinkPositions: {},
          emitted: null,
          meta: {},
        },
        puts: encoded.puts.map(([key, value]) => [windowNamespace('per_user'), key, value]),
        deletes: [],
      });
      await store.close();
      const listed = await capture(['list', topology, '--state-dir', stateDir]);
      const entries = Number(/entries (\d+)/.exec(listed.out)?.[1]);
      assert.match(listed.out, / {2}rows 10000 {2}entries \d+ \(\d+\.\d KiB\) {2}disk /);
      assert.ok(entries > 2 && entries <= 2 * 1024 + 3, `entries ${entries}`);
      const inspected = await capture(['inspect', topology, '--state-dir', stateDir]);
      assert.match(
        inspected.out,
        new RegExp(`namespace {3}window:per_user: 10000 rows, ${entries} entries, \\d`),
      );
    });
  });

  it('refuses an unknown action and restore-from without its options', async () => {
    await withTempDir(async (root) => {
      const topology = join(root, 'clicks.yaml');
      await writeFile(topology, TOPOLOGY);
      await assert.rejects(run(['purge', topology]), CliArgumentError);
      await assert.rejects(run(['restore-from', topology, '--source', 'events']), CliArgumentError);
    });
  });
});
