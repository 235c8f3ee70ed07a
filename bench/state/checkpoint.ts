/**
 * Checkpoint and restore cost of partition state: one checkpoint committing N entries
 * (key 16 bytes, value 24 bytes) in one atomic batch, a full restore streaming every
 * entry back with `entries()`, a snapshot write and verified read, a database rebuilt
 * from the snapshot, and random `get()` read-backs (the cost of evicted keys).
 *
 * Before timing anything it checks that what comes back equals what went in (CRC of
 * every key and value in order), so a fast wrong answer cannot pass.
 * Targets (issue 5): 1M entries commit < 1 s, restore < 2 s.
 *
 *   node --import tsx bench/state/checkpoint.ts [entries ...]    (default 100000 1000000)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { PartitionStore } from '../../state/index.ts';
import { readSnapshotFile } from '../../state/snapshot-file.ts';

const sizes = process.argv.slice(2).map(Number);
const NAMESPACE = 'per_user';

function key(index: number): Buffer {
  return Buffer.from(`u:${String(index).padStart(14, '0')}`, 'latin1'); // 16 bytes
}

function value(index: number): Buffer {
  const out = Buffer.allocUnsafe(24);
  out.writeDoubleBE(index * 1.5, 0);
  out.writeDoubleBE(index % 997, 8);
  out.writeDoubleBE(1_700_000_000_000 + index, 16);
  return out;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

async function streamedCrc(store: PartitionStore): Promise<{ count: number; crc: number }> {
  let count = 0;
  let crc = 0;
  for await (const [entryKey, entryValue] of store.entries(NAMESPACE)) {
    crc = crc32(entryValue, crc32(entryKey, crc));
    count += 1;
  }
  return { count, crc };
}

async function run(count: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-state-'));
  try {
    const puts: Array<[string, Buffer, Buffer]> = new Array(count);
    let expectedCrc = 0;
    for (let index = 0; index < count; index += 1) {
      puts[index] = [NAMESPACE, key(index), value(index)];
      expectedCrc = crc32(puts[index][2], crc32(puts[index][1], expectedCrc));
    }
    const checkpoint = {
      sourcePosition: { offset: String(count) },
      watermark: 0,
      sinkPositions: {},
      emitted: null,
      meta: {},
    };

    let store = await PartitionStore.open({ dir });
    const [, commitMs] = await timed(() => store.commit({ checkpoint, puts, deletes: [] }));
    await store.close();
    const [reopened, openMs] = await timed(() => PartitionStore.open({ dir }));
    store = reopened;
    const [restored, restoreMs] = await timed(() => streamedCrc(store));
    if (restored.count !== count || restored.crc !== expectedCrc)
      throw new Error('restore does not match what was committed');

    const [snapshot, snapshotWriteMs] = await timed(() => store.snapshot(2));
    const [header, snapshotReadMs] = await timed(() => readSnapshotFile(snapshot.file));
    if (header.entryCount !== count) throw new Error('snapshot does not hold every entry');
    await store.commit({ checkpoint, puts: [], deletes: [], clear: [NAMESPACE] });
    const [, rebuildMs] = await timed(() => store.restoreSnapshot(snapshot.file));
    const rebuilt = await streamedCrc(store);
    if (rebuilt.count !== count || rebuilt.crc !== expectedCrc)
      throw new Error('snapshot restore does not match');

    const histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 10_000_000,
      numberOfSignificantValueDigits: 3,
    });
    const reads = 20_000;
    let seed = 12345;
    const [, readsMs] = await timed(async () => {
      for (let done = 0; done < reads; done += 1) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const index = seed % count;
        const start = performance.now();
        const found = await store.get(NAMESPACE, key(index));
        histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
        if (found === undefined || !found.equals(value(index)))
          throw new Error(`get ${index} returned the wrong value`);
      }
    });
    await store.close();

    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const ms = (value_: number) => value_.toFixed(0).padStart(6);
    console.log(`\n${count.toLocaleString('en')} entries (16 B keys, 24 B values), one namespace`);
    console.log(`  commit (one atomic batch, fsync)   ${ms(commitMs)} ms   target < 1000 for 1M`);
    console.log(`  reopen (load checkpoint)           ${ms(openMs)} ms`);
    console.log(`  restore (entries() over all)       ${ms(restoreMs)} ms   target < 2000 for 1M`);
    console.log(`  snapshot write (${mb(snapshot.bytes)} MiB)        ${ms(snapshotWriteMs)} ms`);
    console.log(`  snapshot read + verify             ${ms(snapshotReadMs)} ms`);
    console.log(`  database rebuilt from snapshot     ${ms(rebuildMs)} ms`);
    console.log(
      `  get() read-back, ${reads} random keys  ${ms(readsMs)} ms   p50 ${histogram.getValueAtPercentile(50)} µs, p99 ${histogram.getValueAtPercentile(99)} µs, max ${histogram.maxValue} µs`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const count of sizes.length > 0 ? sizes : [100_000, 1_000_000]) await run(count);
