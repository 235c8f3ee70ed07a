/**
 * The Kafka source: one kafkajs consumer-group member reading one topic and handing each
 * fetched batch, packed for one transfer, to the owner of its partition (`deliver`).
 *
 * Threading model: main thread only. kafkajs callbacks and the owner's callbacks all run
 * on the event loop; the assignment life cycle (revoke, assign, seek, partition end) runs
 * as one promise chain, so two of its steps never overlap.
 *
 * Life cycle of a partition: ASSIGNING (paused; the owner restores and names a seek offset)
 * → READY (fetching; paused while a delivery waits for a full mailbox) → ENDED (bounded:
 * end offset reached; paused for good) → REVOKED. kafkajs 2.2.4 has no rebalance listener,
 * so:
 * - assignment: `GROUP_JOIN` fires after SyncGroup and before any fetch. Its handler pauses
 *   the new partitions at once, then asks `onAssign`, seeks, and resumes them. Partitions
 *   kept across a rejoin are re-seeked to the position already delivered, because kafkajs
 *   recreates its offset manager on every join and would rewind them to the group offset.
 * - revocation: eager, as Kafka's own protocol. When a rebalance starts (`REBALANCING`
 *   event, or a heartbeat inside `eachBatch` answering REBALANCE_IN_PROGRESS) every owned
 *   partition is paused and `onRevoke` runs once its in-flight delivery settled. On the
 *   heartbeat path the rejoin waits for `onRevoke`; on the event path kafkajs rejoins at
 *   once, so a new owner must not trust a partition's state until the old owner's
 *   checkpoint is written (the state layer's partition lock).
 *
 * Back-pressure without starving heartbeats (kafkajs issues 852, 1163): `eachBatch` never
 * waits for a full mailbox. It resolves the batch's offsets, starts `deliver`, and if that
 * does not settle at once pauses the partition until it does. So at most one batch per
 * partition is in flight, and kafkajs's loop keeps fetching other partitions and sending
 * heartbeats (with every partition paused it still heartbeats after each empty fetch).
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerGroupJoinEvent, EachBatchPayload } from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';
import { BrokerWatchdog } from './broker-watchdog.ts';
import { type PackedKafkaBatch, packKafkaBatch } from './kafka-batch.ts';
import { createKafkaClient } from './kafka-client.ts';
import { describeError, KafkaError, kafkaError } from './kafka-errors.ts';
import { openTopicOffsets } from './topic-offsets.ts';

export interface KafkaSourceOptions {
  brokers: string[];
  topic: string;
  group: string;
  clientId: string;
  /** 'latest': read up to the end offsets seen at start, then call onPartitionEnd; null: run until stopped. */
  bounded: 'latest' | null;
  /** A broker silent longer than this is fatal (onFatal). Must exceed heartbeatIntervalMs + the fetch wait. */
  brokerTimeoutMs: number;
  /** Where a partition without a seek offset and without a group offset starts. */
  fromBeginning: boolean;
  /** The owner restores the partitions and returns, per partition, the next offset to read (null = group offset, else per fromBeginning). */
  onAssign(partitions: number[]): Promise<Map<number, string | null>>;
  /** The owner checkpoints and releases these partitions; no delivery for them follows. */
  onRevoke(partitions: number[]): Promise<void>;
  /** Resolves once the partition's actor accepted the batch (may wait while its mailbox is full). */
  deliver(partition: number, packed: PackedKafkaBatch): Promise<void>;
  /** Bounded: the partition reached its end offset; called once per assignment, after the last delivery. */
  onPartitionEnd(partition: number): Promise<void>;
  /** Called once; the source has stopped consuming. */
  onFatal(error: Error): void;
  log: Logger;
  /** Group session timeout; default 30 s. */
  sessionTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
}

export interface KafkaSource {
  /** Commits consumer-group offsets (next offset to read, per partition) for lag monitoring; failures are logged, not thrown. */
  commitOffsets(offsets: Map<number, string>): Promise<void>;
  /** Leaves the group and disconnects. Does not call onRevoke: the owner checkpoints on shutdown itself. */
  stop(): Promise<void>;
  /** Partitions this member owns now (assigning, ready or ended). */
  assigned(): number[];
}

interface OwnedPartition {
  phase: 'assigning' | 'ready' | 'ended';
  /** Next offset to read, as far as batches were handed to deliver; null until known. */
  position: bigint | null;
  /** Bounded: the end offset taken at start. */
  end: bigint | null;
  inflight: Promise<void> | null;
  backpressured: boolean;
  /**
   * Where kafkajs moved past a fetch holding only control records or aborted ones (it
   * hands those to nobody): the position to carry to the owner once nothing is in flight,
   * so a checkpoint and a bounded end see the offset move. null: nothing to carry.
   */
  skipTo: bigint | null;
}

/**
 * The broker's long-poll wait for an empty fetch, which kafkajs also sleeps when every
 * partition is paused (each waits on a full mailbox) or has no position yet. Short, so
 * the fetch loop follows the workers as they drain instead of leaving them idle for up
 * to a second, and the first fetch after a join starts at once.
 */
const FETCH_WAIT_MS = 100;
/**
 * How long `stop` waits for kafkajs to leave the group and disconnect. kafkajs's
 * `disconnect` waits for its fetch loop, which during a rebalance sits in JoinGroup for up
 * to the rebalance timeout and may rejoin after it (kafkajs PR 1462); seen to hang 2.5 min
 * on a SIGTERM just after a rejoin. Leaving is a courtesy (checkpoints are the truth), so
 * a stop does not wait for it longer than this.
 */
const STOP_TIMEOUT_MS = 5000;

export async function startKafkaSource(options: KafkaSourceOptions): Promise<KafkaSource> {
  const { topic, log } = options;
  const client = createKafkaClient({
    brokers: options.brokers,
    clientId: options.clientId,
    log,
    retries: Math.max(3, Math.ceil(options.brokerTimeoutMs / 5000)),
    rawRecordBatches: true,
  });
  const brokers = options.brokers.join(',');
  const offsets = await openTopicOffsets(client, brokers, topic, options.brokerTimeoutMs);
  const { low, high } = offsets;

  const owned = new Map<number, OwnedPartition>();
  let lifecycle: Promise<void> = Promise.resolve();
  let stopping = false;
  let failed = false;
  /** Set once startKafkaSource returned: before, a fatal error rejects the start instead of calling onFatal. */
  let started = false;
  let failStart: (error: Error) => void = () => {};
  const startFailed = new Promise<never>((_, reject) => {
    failStart = reject;
  });
  startFailed.catch(() => {});
  const watchdog = new BrokerWatchdog(options.brokerTimeoutMs, Date.now());
  const unreachable = (silentMs: number) =>
    kafkaError('SLUICE_ERR_KAFKA_BROKER_UNREACHABLE', [brokers, silentMs, client.lastError() || 'no answer']);

  const consumer = client.kafka.consumer({
    groupId: options.group,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3000,
    maxWaitTimeInMs: FETCH_WAIT_MS,
    retry: { retries: 5, restartOnFailure: async () => !stopping && !failed },
  });

  const fatal = (error: Error) => {
    if (failed || stopping) return;
    failed = true;
    clearInterval(watchdogTimer);
    log.error('kafka source stopped', { topic, group: options.group, error });
    void consumer.disconnect().catch(() => {});
    void offsets.disconnect();
    if (started) options.onFatal(error);
    else failStart(error);
  };

  /**
   * Runs `step` until it succeeds, waiting between attempts, while the broker has not been
   * silent past brokerTimeoutMs (then SLUICE_ERR_KAFKA_BROKER_UNREACHABLE). For the steps
   * whose kafkajs errors are final although the broker is only restarting.
   */
  const untilBrokerAnswers = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (stopping || failed) throw error;
        const silent = watchdog.overdue(Date.now());
        if (silent !== null) throw unreachable(silent);
        const waitMs = Math.min(5000, 300 * 2 ** attempt);
        log.warn(`kafka ${what} failed; retrying`, { topic, error, retryInMs: waitMs });
        await sleep(waitMs);
      }
    }
  };
  const ownerCallback = (name: string) => (error: unknown) => {
    fatal(kafkaError('SLUICE_ERR_KAFKA_OWNER_CALLBACK', [name, describeError(error)], error));
  };
  const enqueue = (name: string, step: () => Promise<void>) => {
    lifecycle = lifecycle.then(() => (failed || stopping ? undefined : step())).catch(ownerCallback(name));
  };
  const pause = (partitions: number[]) => {
    if (partitions.length > 0) consumer.pause([{ topic, partitions }]);
  };
  const resume = (partitions: number[]) => {
    if (partitions.length > 0) consumer.resume([{ topic, partitions }]);
  };
  const isCurrent = (partition: number, state: OwnedPartition) => owned.get(partition) === state;

  /** Eager revocation of everything owned; idempotent while nothing is owned. */
  const beginRevoke = () => {
    const revoked = [...owned.entries()];
    if (revoked.length === 0) return;
    owned.clear();
    const partitions = revoked.map(([partition]) => partition);
    pause(partitions);
    const inflight = revoked.map(([, state]) => state.inflight);
    enqueue('onRevoke', async () => {
      await Promise.allSettled(inflight);
      log.info('kafka partitions revoked', { topic, partitions });
      await options.onRevoke(partitions);
    });
  };

  const endPartition = async (partition: number, state: OwnedPartition) => {
    state.phase = 'ended';
    pause([partition]);
    log.info('kafka partition reached its end offset', { topic, partition, end: String(state.end) });
    await options.onPartitionEnd(partition);
  };

  const assign = async (partitions: number[], states: OwnedPartition[]) => {
    const seeks = await options.onAssign(partitions);
    const committed =
      options.bounded === null
        ? null
        : await untilBrokerAnswers('committed offsets fetch', () => offsets.committed(options.group));
    for (let index = 0; index < partitions.length; index++) {
      const partition = partitions[index];
      const state = states[index];
      if (!isCurrent(partition, state)) continue;
      const target = seeks.get(partition) ?? null;
      if (target !== null) consumer.seek({ topic, partition, offset: target });
      const start =
        target !== null
          ? BigInt(target)
          : (committed?.get(partition) ??
            (options.fromBeginning ? low.get(partition) : high.get(partition)) ??
            null);
      state.position = start;
      state.end = options.bounded === null ? null : (high.get(partition) ?? 0n);
      if (state.end !== null && start !== null && start >= state.end) {
        await endPartition(partition, state);
        continue;
      }
      state.phase = 'ready';
      resume([partition]);
    }
    log.info('kafka partitions assigned', { topic, partitions, seeks: Object.fromEntries(seeks) });
  };

  const onGroupJoin = (event: ConsumerGroupJoinEvent) => {
    watchdog.contact(Date.now());
    const assignment = (event.payload.memberAssignment[topic] ?? []) as number[];
    const wanted = new Set(assignment);
    const stale = [...owned.entries()].filter(([partition]) => !wanted.has(partition));
    for (const [partition] of stale) owned.delete(partition);
    if (stale.length > 0) {
      const partitions = stale.map(([partition]) => partition);
      const inflight = stale.map(([, state]) => state.inflight);
      enqueue('onRevoke', async () => {
        await Promise.allSettled(inflight);
        await options.onRevoke(partitions);
      });
    }
    // Kept partitions: kafkajs forgot their position and maybe their pause.
    for (const [partition, state] of owned) {
      if (state.position !== null) consumer.seek({ topic, partition, offset: state.position.toString() });
      if (state.phase !== 'ready' || state.backpressured) pause([partition]);
    }
    const added = assignment.filter((partition) => !owned.has(partition));
    if (added.length === 0) return;
    pause(added);
    const states = added.map((partition) => {
      const state: OwnedPartition = {
        phase: 'assigning',
        position: null,
        end: null,
        inflight: null,
        backpressured: false,
        skipTo: null,
      };
      owned.set(partition, state);
      return state;
    });
    enqueue('onAssign', () => assign(added, states));
  };

  const afterDelivery = async (partition: number, state: OwnedPartition) => {
    if (!isCurrent(partition, state)) return;
    state.inflight = null;
    if (carrySkip(partition, state)) return;
    if (
      state.end !== null &&
      state.position !== null &&
      state.position >= state.end &&
      state.phase === 'ready'
    ) {
      state.backpressured = false;
      await endPartition(partition, state);
      return;
    }
    if (state.backpressured) {
      state.backpressured = false;
      if (state.phase === 'ready') resume([partition]);
    }
  };

  /** Delivers `packed` and moves the position past it; the delivery's settling is the partition's in-flight work. */
  const handOver = (partition: number, state: OwnedPartition, packed: PackedKafkaBatch): Promise<void> => {
    state.position = BigInt(packed.nextOffset);
    if (state.skipTo !== null && state.skipTo <= state.position) state.skipTo = null;
    const delivery = options.deliver(partition, packed);
    state.inflight = delivery.then(() => afterDelivery(partition, state)).catch(ownerCallback('deliver'));
    return delivery;
  };

  /**
   * kafkajs resolved a fetch of only control or aborted records itself (`batchSize` 0):
   * the partition's position moves to `next` through an empty delivery, now or after the
   * one in flight.
   */
  const passFiltered = (partition: number, next: bigint) => {
    const state = owned.get(partition);
    if (state === undefined || state.phase !== 'ready' || state.position === null || next <= state.position)
      return;
    state.skipTo = next;
    if (state.inflight === null) carrySkip(partition, state);
  };

  /** Hands the owner an empty batch that moves the position to `skipTo`, if one is due. */
  const carrySkip = (partition: number, state: OwnedPartition): boolean => {
    const next = state.skipTo;
    state.skipTo = null;
    if (next === null || state.phase !== 'ready' || state.position === null || next <= state.position)
      return false;
    void handOver(partition, state, packKafkaBatch(topic, partition, [], next.toString())).catch(() => {});
    return true;
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    if (stopping || failed) return;
    const { batch } = payload;
    const partition = batch.partition;
    const state = owned.get(partition);
    // Not resolving leaves the offset where it was: kafkajs fetches the batch again later if ours.
    if (state === undefined || state.phase !== 'ready' || state.inflight !== null) return;
    if (payload.isStale() || !payload.isRunning() || batch.messages.length === 0) return;
    watchdog.contact(Date.now());
    const nextOffset = (BigInt(batch.lastOffset()) + 1n).toString();
    // Record batches as fetched (raw-record-batches.ts): the worker skips what precedes the fetch.
    const fetchedOffset = (batch as unknown as { fetchedOffset: string }).fetchedOffset;
    const packed = packKafkaBatch(topic, partition, batch.messages, nextOffset, fetchedOffset);
    payload.resolveOffset(batch.lastOffset());
    const delivery = handOver(partition, state, packed);
    let delivered = false;
    void delivery.then(
      () => {
        delivered = true;
      },
      () => {}, // a failed delivery is reported by the in-flight chain (handOver)
    );
    await Promise.race([delivery.catch(() => {}), nextTurn()]);
    if (!delivered && isCurrent(partition, state)) {
      state.backpressured = true;
      pause([partition]);
    }
    try {
      await payload.heartbeat();
    } catch (error) {
      if (isRebalancing(error)) {
        beginRevoke();
        await lifecycle;
      }
      throw error;
    }
  };

  const { HEARTBEAT, GROUP_JOIN, REBALANCING, CRASH, START_BATCH_PROCESS } = consumer.events;
  consumer.on(HEARTBEAT, () => watchdog.contact(Date.now()));
  consumer.on(START_BATCH_PROCESS, (event) => {
    watchdog.contact(Date.now());
    const { partition, batchSize, lastOffset } = event.payload;
    if (batchSize === 0) passFiltered(partition, BigInt(lastOffset) + 1n);
  });
  consumer.on(GROUP_JOIN, onGroupJoin);
  consumer.on(REBALANCING, () => beginRevoke());
  /**
   * Connects, subscribes and runs the consumer; kafkajs resolves `run` once the group is
   * joined or the join crashed. A crash kafkajs does not restart (an error it marks not
   * retriable, such as GroupCoordinatorNotFound or a lock time-out while the broker
   * restarts under a join, issues 852/1163) is restarted here, with back-off, so that the
   * watchdog's brokerTimeoutMs is the only limit whether the broker went away before,
   * during or after the first join. One launch at a time: a crash during a launch makes
   * it go round again.
   */
  let launching: Promise<void> | null = null;
  let relaunch = false;
  const launchOnce = async () => {
    for (let attempt = 0; !stopping && !failed; attempt++) {
      await untilBrokerAnswers('consumer start', async () => {
        relaunch = false;
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      });
      if (stopping || failed) {
        await consumer.disconnect().catch(() => {});
        return;
      }
      if (!relaunch) return;
      const silent = watchdog.overdue(Date.now());
      if (silent !== null) throw unreachable(silent);
      await sleep(Math.min(5000, 300 * 2 ** attempt));
    }
  };
  const launch = () => {
    launching ??= launchOnce().finally(() => {
      launching = null;
    });
    return launching;
  };

  consumer.on(CRASH, (event) => {
    const { error, restart } = event.payload as { error: Error; restart: boolean };
    if (stopping || failed) return;
    if (restart) {
      log.warn('kafka consumer restarting after an error', { topic, error });
      return;
    }
    log.warn('kafka consumer crashed on an error kafkajs does not retry; restarting it', { topic, error });
    relaunch = true;
    if (launching === null) {
      launch().catch((failure: unknown) => fatal(asSourceError(options.group, failure)));
    }
  });
  const watchdogTimer = setInterval(
    () => {
      const silent = watchdog.overdue(Date.now());
      if (silent !== null) fatal(unreachable(silent));
    },
    Math.min(1000, options.brokerTimeoutMs / 4),
  );
  watchdogTimer.unref();

  try {
    const first = launch();
    first.catch(() => {});
    await Promise.race([first, startFailed]);
    started = true;
  } catch (error) {
    failed = true;
    clearInterval(watchdogTimer);
    await consumer.disconnect().catch(() => {});
    await offsets.disconnect();
    throw asSourceError(options.group, error);
  }

  return {
    async commitOffsets(offsets) {
      const entries = [...offsets].filter(([partition]) => owned.has(partition));
      if (entries.length === 0 || failed || stopping) return;
      try {
        await consumer.commitOffsets(entries.map(([partition, offset]) => ({ topic, partition, offset })));
      } catch (error) {
        log.warn('kafka offset commit failed (lag metrics only; checkpoints are the truth)', {
          topic,
          error,
        });
      }
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(watchdogTimer);
      const disconnected = consumer
        .disconnect()
        .catch((error) => log.warn('kafka consumer disconnect failed', { error }));
      if (!(await settlesWithin(disconnected, STOP_TIMEOUT_MS))) {
        log.warn(
          'kafka consumer did not leave its group in time (rebalance or broker away); stopping without it — the group drops this member after its session timeout',
          { topic, group: options.group, waitedMs: STOP_TIMEOUT_MS },
        );
      }
      await settlesWithin(offsets.disconnect(), STOP_TIMEOUT_MS);
    },
    assigned: () => [...owned.keys()].sort((a, b) => a - b),
  };
}

/** Whether `promise` settled within `ms` (it is left running if not). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Our own errors as they are; a kafkajs one as SLUICE_ERR_KAFKA_CONSUMER_CRASHED. */
function asSourceError(group: string, error: unknown): Error {
  if (error instanceof KafkaError) return error;
  return kafkaError('SLUICE_ERR_KAFKA_CONSUMER_CRASHED', [group, describeError(error)], error);
}

function isRebalancing(error: unknown): boolean {
  const type = (error as { type?: string })?.type;
  return (
    type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'NOT_COORDINATOR_FOR_GROUP'
  );
}
