import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  encodePendingRows,
  PENDING_ROWS_NAMESPACE,
  readPendingRows,
} from '../../../actors/partition/pending-rows-codec.ts';
import { SINK_HOOK_CHANNEL } from '../../../actors/partition/sink-hooks.ts';
import { TwoPhaseOutputs } from '../../../actors/partition/two-phase-outputs.ts';
import { PartitionStore } from '../../../state/index.ts';
import { recordingContext } from '../sinks/fake-sink-context.ts';

function write(sink: string, data: string) {
  return { sink, file: null, data, rows: data.split('\n').length - 1, outputs: {} };
}

describe('two-phase outputs of a partition', () => {
  it('records the rows of its two-phase sinks only, until the checkpoint that commits them', async () => {
    const outputs = new TwoPhaseOutputs(['kafka'], 'events/2');
    outputs.record(write('kafka', 'a\n'));
    outputs.record(write('files', 'x\n'));
    outputs.record(write('kafka', 'b\nc\n'));
    assert.deepEqual([...outputs.pending()], [['kafka', 'a\nb\nc\n']]);
    const { ctx, emits } = recordingContext();
    await outputs.prepare(ctx);
    assert.deepEqual(
      [...outputs.pending()],
      [['kafka', 'a\nb\nc\n']],
      'prepare keeps them for the checkpoint',
    );
    await outputs.committed(ctx, 9);
    assert.deepEqual([...outputs.pending()], []);
    assert.deepEqual(emits, [
      { channel: SINK_HOOK_CHANNEL, payload: { kind: 'prepare', sink: 'kafka', partition: 'events/2' } },
      {
        channel: SINK_HOOK_CHANNEL,
        payload: { kind: 'commit', sink: 'kafka', partition: 'events/2', checkpoint: 9 },
      },
    ]);
  });

  it('hands each sink the rows its restored checkpoint recorded, or null', async () => {
    const outputs = new TwoPhaseOutputs(['one', 'two'], 'events/0');
    const { ctx, emits } = recordingContext();
    await outputs.recover(ctx, 4, new Map([['two', 'r\n']]));
    assert.deepEqual(
      emits.map((emit) => emit.payload),
      [
        { kind: 'recover', sink: 'one', partition: 'events/0', checkpoint: 4, pending: null },
        { kind: 'recover', sink: 'two', partition: 'events/0', checkpoint: 4, pending: 'r\n' },
      ],
    );
  });

  it('stores recorded rows in the checkpoint and reads them back, across chunk boundaries', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-pending-'));
    const store = await PartitionStore.open({ dir });
    t.after(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    const big = `${'{"user":"é","n":1}\n'.repeat(120_000)}`;
    const pending = new Map([
      ['kafka', big],
      ['other', 'z\n'],
    ]);
    const puts = encodePendingRows(pending).map(
      ([key, value]) => [PENDING_ROWS_NAMESPACE, key, value] as [string, string, Buffer],
    );
    assert.ok(puts.length > 2, 'the big entry spans several chunks');
    const checkpoint = { sourcePosition: null, watermark: null, sinkPositions: {}, emitted: null, meta: {} };
    await store.commit({ checkpoint, puts, deletes: [], clear: [PENDING_ROWS_NAMESPACE] });
    assert.deepEqual(await readPendingRows(store), pending);
    await store.commit({ checkpoint, puts: [], deletes: [], clear: [PENDING_ROWS_NAMESPACE] });
    assert.deepEqual(await readPendingRows(store), new Map(), 'the next checkpoint without rows clears them');
  });
});
