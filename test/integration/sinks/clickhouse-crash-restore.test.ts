import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { produceEvents } from '../../../actors/kafka/produce-events.ts';
import { KAFKA_ASSIGNED, runMeasured, runWithKills } from '../../e2e/sluice-process.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';
import { clickhouseCommand, clickhouseTopology, deleteTopic, finalRows } from './clickhouse-helpers.ts';

const columns = 'window_start, window_end, user_id, events, amount, pages, version';

describe('Kafka → sluice → ClickHouse, exactly once across kill -9', { timeout: 150_000 }, () => {
  it('reads the same rows with FINAL after kill -9 restarts at random instants as after one clean run', async (t) => {
    const topic = uniqueName('chcrash');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ch-crash-'));
    const cleanTable = `${topic}_clean`;
    const crashTable = `${topic}_crash`;
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
      for (const table of [cleanTable, crashTable])
        await clickhouseCommand(`DROP TABLE IF EXISTS default.${table}`);
    });
    await produceEvents({
      brokers: kafkaBrokers,
      topic,
      format: 'json',
      count: 60_000,
      keys: 1000,
      createTopic: 4,
      startTime: Date.UTC(2026, 0, 1),
      rate: 0,
      outOfOrder: 0.1,
      maxOutOfOrderMs: 3000,
      late: 0.01,
      lateByMs: 8000,
    });
    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    for (const [target, table] of [
      [cleanDir, cleanTable],
      [crashDir, crashTable],
    ] as const) {
      await mkdir(target, { recursive: true });
      await writeFile(
        join(target, 'job.yaml'),
        clickhouseTopology({ name: 'chcrash', topic, group: `${table}-g`, table }),
      );
    }
    const clean = await runMeasured(['start', 'job.yaml'], {
      cwd: cleanDir,
      marker: KAFKA_ASSIGNED,
      timeoutMs: 60_000,
    });
    assert.equal(clean.code, 0, clean.stderr);

    // Kills land 5–40 % of a clean run's work after each assignment, however fast this
    // machine runs the job: a fixed instant let a quick run finish before any kill.
    const { result, kills } = await runWithKills(['start', 'job.yaml'], {
      cwd: crashDir,
      kills: 3,
      marker: KAFKA_ASSIGNED,
      minDelayMs: clean.activeMs * 0.05,
      maxDelayMs: clean.activeMs * 0.4,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(kills >= 2, `killed ${kills} times`);
    const expected = await finalRows(cleanTable, columns);
    assert.ok(expected.length > 500, `clean run wrote ${expected.length} rows`);
    const actual = await finalRows(crashTable, columns);
    assert.equal(actual.length, expected.length);
    assert.deepEqual(actual, expected);
  });
});
