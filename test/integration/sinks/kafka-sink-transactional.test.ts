import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { SinkWrite } from '../../../actors/partition/partition-plan.ts';
import type { SinkHook } from '../../../actors/partition/sink-hooks.ts';
import { transactionIdentity } from '../../../actors/sinks/kafka-transaction-marker.ts';
import { createKafkaTransactionalSink } from '../../../actors/sinks/kafka-transactional-sink.ts';
import type { Actor } from '../../../runtime/actor.ts';
import { adminPort, KAFKA_ASSIGNED, runMeasured, runSluice, runWithKills } from '../../e2e/sluice-process.ts';
import { recordingContext } from '../../unit/sinks/fake-sink-context.ts';
import { kafkaBrokers, uniqueName } from '../helpers/services.ts';
import { deleteTopic, scrapeMetrics } from './clickhouse-helpers.ts';
import { fileTopology, testEvents, writeEvents } from './file-source-topology.ts';

const brokers = kafkaBrokers.map((broker) => `"${broker}"`).join(', ');

function topology(name: string, input: string, group: string, output: string): string {
  return `name: ${name}
workers: 2
checkpoint: { interval: 300ms, keep: 2, snapshotEvery: 3 }
admin: { port: 0 }
sources:
  events:
    type: kafka
    brokers: [${brokers}]
    topic: ${input}
    group: ${group}
    format: json
    key: user_id
    bounded: latest
    sessionTimeout: 6s      # a killed member leaves the group after this
    time: { field: ts, maxOutOfOrder: 2s }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 5s, allowedLateness: 2s }
    groupBy: [user_id]
    aggregate: { events: count(), amount: sum(amount), pages: count_distinct(page) }
    to: [out]
    late: late
sinks:
  out: { type: kafka, brokers: [${brokers}], topic: ${output}, transactional: true, batch: { rows: 2000, interval: 50ms } }
  late: { type: file, path: ./out/late.jsonl }
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: dlq
`;
}

/**
 * `count` events of 100 users, 5 ms of event time apart (about 300 windows of 5 s), every
 * 50th one 3 s late: windows fire all along the input, not only at its end, so a kill
 * lands while transactions are open and between checkpoints and their commits.
 */
async function writeInput(topic: string, partitions: number, count: number): Promise<void> {
  await createTopic(topic, partitions);
  const producer = new kafkajs.Kafka({
    brokers: kafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).producer();
  await producer.connect();
  try {
    const start = Date.UTC(2026, 0, 1);
    for (let first = 0; first < count; first += 10_000) {
      const messages = [];
      for (let index = first; index < Math.min(count, first + 10_000); index++) {
        const user = `u${(index * 7919) % 100}`;
        const ts = start + index * 5 - (index % 50 === 0 ? 3000 : 0);
        const event = { user_id: user, ts, amount: index % 13, page: `/p${index % 17}` };
        messages.push({ key: user, value: JSON.stringify(event) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

const sentinel = '__end_of_test__';

/** Input events of the kill test: enough that a run outlasts a few checkpoints. */
const EVENTS = 500_000;

interface RawRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

/**
 * What a read_committed consumer must see in `topic`, as sorted `<key> <value>` lines,
 * worked out from the log itself: every record is read (read_uncommitted, control records
 * included) and a transactional record counts only if the next transaction marker of its
 * producer in that partition is a COMMIT. This is the definition of read_committed, and
 * it does not depend on kafkajs's filtering, which in 2.2.4 lets aborted records through
 * when the broker lists several aborted transactions out of first-offset order (it does,
 * once producers interleave in a partition). `uncommitted: true` returns every data
 * record instead (aborted ones included).
 */
async function readTopic(topic: string, options: { uncommitted?: boolean } = {}): Promise<string[]> {
  const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  // kafkajs hands a fetch of control records alone to nobody: a plain record after the
  // last markers of every partition makes sure the reader sees them.
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).map((entry) => entry.partition);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: partitions.map((partition) => ({ partition, key: sentinel, value: sentinel })),
  });
  await producer.disconnect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, Number(entry.high)]),
  );
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueName(`${topic}-reader`), readUncommitted: true });
  const next = new Map<number, number>();
  const visible: string[] = [];
  const everything: string[] = [];
  const open = new Map<string, string[]>();
  const line = (record: RawRecord) => `${record.key?.toString()} ${record.value?.toString()}`;
  const data = (lines: string[]) => lines.filter((text) => !text.startsWith(`${sentinel} `));
  const done = () => [...ends].every(([partition, end]) => (next.get(partition) ?? 0) >= end);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        // The raw records of the fetch, control records and aborted ones included.
        for (const record of (batch as unknown as { rawMessages: RawRecord[] }).rawMessages) {
          const offset = Number(record.offset);
          if (offset < (next.get(batch.partition) ?? 0)) continue;
          next.set(batch.partition, offset + 1);
          const producer = `${batch.partition}/${record.batchContext.producerId}`;
          if (record.isControlRecord) {
            // Control record key: version (int16) then type (int16): 0 abort, 1 commit.
            if (record.key?.readInt16BE(2) === 1) visible.push(...(open.get(producer) ?? []));
            open.delete(producer);
            continue;
          }
          everything.push(line(record));
          if (!record.batchContext.inTransaction) visible.push(line(record));
          else open.set(producer, [...(open.get(producer) ?? []), line(record)]);
        }
      },
    });
    const deadline = Date.now() + 60_000;
    while (!done() && Date.now() < deadline) await sleep(200);
    assert.ok(done(), `read ${topic} to its end`);
  } finally {
    await consumer.disconnect();
  }
  return data(options.uncommitted === true ? everything : visible).sort();
}

/** `sluice_sink_uncommitted_records` of sink `out`, from the admin endpoint a run logged; 0 before it is up. */
async function uncommittedRecords(stderr: string): Promise<number> {
  const port = adminPort(stderr);
  if (port === undefined) return 0;
  try {
    return (await scrapeMetrics(port)).value('sluice_sink_uncommitted_records', { sink: 'out' });
  } catch {
    return 0;
  }
}

function duplicates(records: readonly string[]): string[] {
  return records.filter((record, index) => index > 0 && records[index - 1] === record);
}

describe('Kafka sink, transactional: true', { timeout: 420_000 }, () => {
  it('gives read_committed consumers exactly the rows of a clean run across several kill -9 restarts', async (t) => {
    const input = uniqueName('ktxn_in');
    const cleanTopic = uniqueName('ktxn_clean');
    const crashTopic = uniqueName('ktxn_crash');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-txn-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      for (const topic of [input, cleanTopic, crashTopic]) await deleteTopic(topic);
    });
    await writeInput(input, 4, EVENTS);
    await createTopic(cleanTopic, 3);
    await createTopic(crashTopic, 3);
    const cleanDir = join(dir, 'clean');
    const crashDir = join(dir, 'crash');
    await mkdir(cleanDir, { recursive: true });
    await mkdir(crashDir, { recursive: true });
    await writeFile(join(cleanDir, 'job.yaml'), topology('ktxn', input, `${input}-clean`, cleanTopic));
    await writeFile(join(crashDir, 'job.yaml'), topology('ktxn', input, `${input}-crash`, crashTopic));

    const clean = await runMeasured(['start', 'job.yaml'], {
      cwd: cleanDir,
      marker: KAFKA_ASSIGNED,
      timeoutMs: 150_000,
    });
    assert.equal(clean.code, 0, clean.stderr);
    // Windows fire all along the input, so kills 5–40 % of a clean run's work after each
    // assignment land while transactions are open and checkpoints commit; two always do.
    // The second and fourth kill wait until the sink reports records in open transactions.
    const { kills } = await runWithKills(['start', 'job.yaml'], {
      cwd: crashDir,
      kills: 4,
      marker: KAFKA_ASSIGNED,
      minDelayMs: clean.activeMs * 0.05,
      maxDelayMs: clean.activeMs * 0.4,
      timeoutMs: 150_000,
      beforeKill: async (kill, running) => {
        if (kill % 2 === 0) return;
        const deadline = Date.now() + 5_000;
        while (running.child.exitCode === null && Date.now() < deadline) {
          if ((await uncommittedRecords(running.stderr)) > 0) return;
          await sleep(5);
        }
      },
    });
    assert.ok(kills >= 2, `killed ${kills} times`);

    const expected = await readTopic(cleanTopic);
    assert.ok(expected.length > 10_000, `the clean run wrote ${expected.length} rows`);
    assert.deepEqual(duplicates(expected), [], 'the clean run writes every row once');
    const events = expected
      .map((record) => JSON.parse(record.slice(record.indexOf(' ') + 1)))
      .filter((row) => row.version === 1)
      .reduce((sum, row) => sum + row.events, 0);
    assert.ok(events > EVENTS * 0.93 && events <= EVENTS, `${events} events in first firings`);

    const seen = await readTopic(crashTopic);
    assert.deepEqual(duplicates(seen), [], 'no row twice');
    assert.equal(seen.length, expected.length);
    assert.deepEqual(seen, expected);
    // The kills left transactions open that the restarts aborted: an uncommitted reader
    // sees those records too, and read_committed hid every one of them.
    const everything = await readTopic(crashTopic, { uncommitted: true });
    t.diagnostic(
      `${kills} kills; ${expected.length} rows; ${everything.length - seen.length} aborted records`,
    );
    assert.ok(everything.length > seen.length, 'a kill hit an open transaction');
  });

  it('commits each partition with its own transactional id and leaves the checkpoint id as marker', async (t) => {
    const input = uniqueName('ktxn_marker_in');
    const output = uniqueName('ktxn_marker_out');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-txn-marker-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      for (const topic of [input, output]) await deleteTopic(topic);
    });
    await writeInput(input, 2, 5000);
    await createTopic(output, 1);
    await writeFile(join(dir, 'job.yaml'), topology('ktxnmark', input, `${input}-g`, output));
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const rows = await readTopic(output);
    assert.ok(rows.length > 0);
    const admin = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      for (const partition of [0, 1]) {
        const { markerGroup } = transactionIdentity('ktxnmark', 'out', `events/${partition}`);
        const [offsets] = await admin.fetchOffsets({ groupId: markerGroup, topics: [output] });
        const marker = offsets.partitions.find((entry) => entry.partition === 0);
        assert.ok(
          marker !== undefined && Number(marker.offset) > 0,
          `partition ${partition} committed a marker`,
        );
        assert.match(marker.metadata ?? '', /^\d+:/);
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('resends recorded rows whose transaction never committed, drops those that did, and fences a zombie', async (t) => {
    const output = uniqueName('ktxn_direct');
    const job = uniqueName('direct');
    t.after(() => deleteTopic(output));
    await createTopic(output, 2);
    const partition = 'events/0';
    const { ctx, gauges } = recordingContext();
    const uncommitted = () =>
      gauges.filter((gauge) => gauge.name === 'sluice_sink_uncommitted_records').at(-1)?.value;
    const sinks: Array<Actor<SinkWrite>> = [];
    t.after(async () => {
      for (const sink of sinks) await sink.stop?.(ctx);
    });
    const incarnation = async () => {
      const sink = await createKafkaTransactionalSink(
        {
          name: 'out',
          deadLetter: null,
          batch: { rows: 1000, bytes: 1 << 20, intervalMs: 50 },
          brokers: kafkaBrokers,
          topic: output,
          format: 'json',
          keyFields: ['user_id'],
          job,
          transactionTimeoutMs: 60_000,
        },
        { name: 'sink:out', restarts: 0 },
      );
      sinks.push(sink);
      await sink.start?.(ctx);
      return sink;
    };
    const hook = (sink: Actor<SinkWrite>, call: SinkHook) => sink.request?.(call.kind, call, ctx);
    const rows = (from: number, count: number) =>
      Array.from(
        { length: count },
        (_, index) =>
          `${JSON.stringify({ window_start: 0, user_id: `u${from + index}`, events: 1, version: 1 })}\n`,
      ).join('');
    const write = (sink: Actor<SinkWrite>, data: string, checkpoint: number) =>
      sink.receive?.(
        {
          sink: 'out',
          file: null,
          data,
          rows: data.split('\n').length - 1,
          outputs: { per_user: 1 },
          origin: { partition, checkpoint },
        },
        ctx,
      );

    // Incarnation 1 writes R1 into its transaction; checkpoint 1 records R1; it dies before committing.
    const first = await incarnation();
    assert.equal(
      await hook(first, { kind: 'recover', sink: 'out', partition, checkpoint: 0, pending: null }),
      null,
    );
    const r1 = rows(0, 50);
    await write(first, r1, 0);
    assert.equal(await hook(first, { kind: 'prepare', sink: 'out', partition }), null);
    assert.equal(uncommitted(), 50, 'R1 sits in the open transaction');

    // Incarnation 2 restores checkpoint 1: the marker is missing, so R1 is sent again and committed.
    const second = await incarnation();
    assert.equal(
      await hook(second, { kind: 'recover', sink: 'out', partition, checkpoint: 1, pending: r1 }),
      null,
    );
    // It writes R2, checkpoint 2 records it, the transaction commits; then it dies.
    const r2 = rows(50, 30);
    await write(second, r2, 1);
    assert.equal(await hook(second, { kind: 'prepare', sink: 'out', partition }), null);
    assert.equal(uncommitted(), 30, 'R2 sits in the open transaction, the resent R1 committed');
    assert.equal(await hook(second, { kind: 'commit', sink: 'out', partition, checkpoint: 2 }), null);
    assert.equal(uncommitted(), 0);

    // Incarnation 3 restores checkpoint 2: the marker says R2 committed, nothing is sent.
    const third = await incarnation();
    assert.equal(
      await hook(third, { kind: 'recover', sink: 'out', partition, checkpoint: 2, pending: r2 }),
      null,
    );

    // Incarnation 2, now a zombie, is fenced: its next transaction is refused.
    await write(second, rows(100, 5), 2);
    const refusal = await hook(second, { kind: 'prepare', sink: 'out', partition });
    assert.equal(typeof refusal, 'string', 'the fenced producer refuses');

    const committed = await readTopic(output);
    assert.equal(committed.length, 80, 'R1 and R2, each row once');
    assert.deepEqual(duplicates(committed), []);
    const everything = await readTopic(output, { uncommitted: true });
    assert.equal(
      everything.length,
      130,
      'the aborted first copy of R1 is in the log, hidden from read_committed',
    );
  });

  it('writes every window row of a file source once, visible after the final checkpoint', async (t) => {
    const topic = uniqueName('ktxn_file');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-txn-file-'));
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await deleteTopic(topic);
    });
    await createTopic(topic, 2);
    const events = testEvents(3000, 7);
    await writeEvents(dir, events);
    const sink = `{ type: kafka, brokers: [${brokers}], topic: ${topic}, transactional: true }`;
    await writeFile(
      join(dir, 'job.yaml'),
      fileTopology({ name: 'ktxnfile', aggregate: 'events: count()', sink }),
    );
    const result = await runSluice(['start', 'job.yaml'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const records = await readTopic(topic);
    const windows = new Set(
      events.map((event) => `${Math.floor(event.ts / 10_000) * 10_000}|${event.user_id}`),
    );
    assert.deepEqual(new Set(records.map((record) => record.slice(0, record.indexOf(' ')))), windows);
    assert.equal(records.length, windows.size);
    const total = records.reduce(
      (sum, record) => sum + JSON.parse(record.slice(record.indexOf(' ') + 1)).events,
      0,
    );
    assert.equal(total, events.length);
  });
});
