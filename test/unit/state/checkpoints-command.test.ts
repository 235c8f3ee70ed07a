// Tests `runtime/cli/commands/checkpoints.ts` (kept here with the state tests it depends on).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
        /^events\/0 {2}checkpoint 2 {2}\S+Z {2}position \{"line":2\} {2}watermark 1970-01-01T00:02:00.000Z {2}keys 2 {2}.+ {2}snapshots 2\/2\n$/,
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
      assert.match(inspected.out, /namespace {3}per_user: 3 keys/);
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
      assert.match(listed.out, /checkpoint 1 .* keys 1 .* snapshots 1\/1/);
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
