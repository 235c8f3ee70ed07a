/**
 * The Postgres CDC source: one logical replication slot (pgoutput) whose changes are
 * delivered as Debezium envelopes to one partition per listed table.
 *
 * Threading model: main thread only; the replication client's callbacks, the heartbeat
 * timer and the owner's calls all run on the event loop. The replication client runs
 * with flow control: it stops reading the socket while a message is being handled, and
 * handling awaits `deliver`, so a full partition mailbox stops pulling WAL.
 *
 * Life cycle: STARTING (tables read, slot checked or created, initial snapshot) →
 * STREAMING (reconnecting after a lost connection, from the slot's confirmed LSN) →
 * STOPPED, or FAILED (onFatal called once).
 *
 * Positions and acknowledgement: a change's position is `<commit LSN>#<ordinal>`
 * (`lsn.ts`). The slot's confirmed LSN moves only when every partition checkpointed
 * the batches before it (`AckTracker`), never automatically. After a crash Postgres
 * re-sends from the confirmed LSN and each partition skips what its checkpoint holds;
 * a change may be re-read, none is lost. A heartbeat writes a transactional logical
 * message (`pg_logical_emit_message`) so the slot advances on a quiet database, and
 * refreshes the `sluice_cdc_retained_wal_bytes` gauge.
 *
 * Publishing (`publish: kafka`): every batch goes through `CdcPublisher` first and reaches
 * its partition only once Kafka acknowledged it, so a partition checkpoint, and with it
 * the slot's confirmed LSN, never covers a change Kafka does not hold.
 */
import pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import type { Logger } from '../../runtime/logger.ts';
import type { MetricsRecorder } from '../../runtime/metrics-recorder.ts';
import type { PartitionMessage } from '../partition/partition-plan.ts';
import { AckTracker } from './ack-tracker.ts';
import { cdcError } from './cdc-errors.ts';
import { type CdcPublishConfig, type CdcPublisher, cdcTopicName, openCdcPublisher } from './cdc-publisher.ts';
import { ChangeAssembler, type PgoutputMessage } from './change-assembler.ts';
import type { Envelope, TableShape } from './debezium-envelope.ts';
import {
  type CdcPosition,
  comparePositions,
  formatLsn,
  isSnapshotComplete,
  parseLsn,
  parsePosition,
} from './lsn.ts';
import {
  createPublication,
  createSlot,
  dropSlot,
  publicationExists,
  readTableShape,
  slotConfirmedLsn,
  slotRetainedBytes,
} from './pg-catalog.ts';
import { createRawPgoutputPlugin } from './raw-pgoutput-plugin.ts';
import { readSnapshot } from './table-snapshot.ts';
import { unwrapEnvelope } from './unwrap-envelope.ts';

/** The topology fields the source reads (`CdcSourceConfig` has them all). */
export interface CdcConnectorConfig {
  connection: string;
  slot: string;
  publication: string;
  tables: string[];
  snapshot: 'initial' | 'never';
  /** `source.name` in the envelopes, and the Kafka topic prefix when published. */
  topicPrefix: string;
  heartbeatMs: number;
  batchSize: number;
  /** How long a lost connection is retried before onFatal. */
  reconnectTimeoutMs: number;
  /** 'debezium': the full envelope; 'unwrap': the row plus `__op`, `__table`, … (`unwrap-envelope.ts`). */
  envelope?: 'debezium' | 'unwrap';
  /** Publish every change to Kafka (`cdc-publisher.ts`) before it reaches its partition. */
  publish?: CdcPublishConfig;
}

/** The gauge of WAL bytes the slot holds on the server (labels `source`, `slot`). */
export const RETAINED_WAL_METRIC = 'sluice_cdc_retained_wal_bytes';

export interface CdcSourceOptions {
  config: CdcConnectorConfig;
  log: Logger;
  /** Resolves once the table partition's actor accepted the records (may wait: back-pressure). */
  deliver(partition: number, message: PartitionMessage): Promise<void>;
  /** The table partition's checkpointed position (the last change it holds), or null. */
  resumeFrom(partition: number): Promise<string | null>;
  /** Called once; the source has stopped. */
  onFatal(error: Error): void;
  /** Where `sluice_cdc_retained_wal_bytes{source, slot}` is set, every heartbeat. */
  metrics?: { recorder: MetricsRecorder; source: string };
}

export interface CdcSource {
  /** The partition made every change up to `position` durable; the slot may advance. */
  onCheckpointed(partition: number, position: string): void;
  /** The slot's flush position confirmed to Postgres so far. */
  confirmedLsn(): string;
  /** WAL bytes the slot keeps on the server, for `/metrics`; null if the slot is gone. */
  retainedWalBytes(): Promise<number | null>;
  stop(): Promise<void>;
}

const RECONNECT_DELAY_MS = 1000;

export async function startCdcSource(options: CdcSourceOptions): Promise<CdcSource> {
  const { config, log } = options;
  const connection: pg.ClientConfig = { connectionString: config.connection };
  const db = new URL(config.connection).pathname.slice(1);
  const shapeEvent = config.envelope === 'unwrap' ? unwrapEnvelope : (event: Envelope) => event;
  const admin = new pg.Client(connection);
  admin.on('error', (error) => log.warn('cdc admin connection error', { error }));
  await admin.connect();

  let stopping = false;
  let failed = false;
  let tracker: AckTracker | null = null;
  let acked = 0n;
  let service: LogicalReplicationService | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let adminHealthy = true;
  let publisher: CdcPublisher | null = null;
  /** The connection heartbeats use: `admin` until it fails, then a replacement. */
  let heartbeatClient: pg.Client | null = admin;

  const fatal = (error: Error) => {
    if (failed || stopping) return;
    failed = true;
    log.error('cdc source stopped', { slot: config.slot, error });
    void shutdown();
    options.onFatal(error);
  };
  const shutdown = async () => {
    if (heartbeat !== null) clearInterval(heartbeat);
    await service?.destroy().catch(() => {});
    await publisher?.close();
    if (heartbeatClient !== null && heartbeatClient !== admin) await heartbeatClient.end().catch(() => {});
    heartbeatClient = null;
    await admin.end().catch(() => {});
  };

  try {
    const shapes: TableShape[] = [];
    for (const table of config.tables) shapes.push(await readTableShape(admin, table));
    const resumes = await Promise.all(config.tables.map((_, partition) => options.resumeFrom(partition)));
    const delivered: Array<CdcPosition | null> = resumes.map((text) =>
      text === null ? null : parsePosition(text),
    );
    const context = { name: config.topicPrefix, db, now: Date.now };
    if (config.publish !== undefined) {
      publisher = await openCdcPublisher({
        config: config.publish,
        topics: shapes.map((shape) => cdcTopicName(config.topicPrefix, shape)),
        clientId: `sluice-cdc-${config.slot}`,
        log,
        shape: shapeEvent,
        deliver: (partition, events, positions) => options.deliver(partition, records(events, positions)),
        onFailed: fatal,
        maxQueued: Math.max(4 * config.batchSize, 1000),
      });
    }
    const kafka = publisher;
    /** Hands a batch on: through Kafka first when publishing, straight to the partition otherwise. */
    const handOver = (partition: number, envelopes: Envelope[], positions: string[]): Promise<void> =>
      kafka !== null
        ? kafka.publish(partition, envelopes, positions)
        : options.deliver(partition, records(envelopes.map(shapeEvent), positions));

    let confirmed = await slotConfirmedLsn(admin, config.slot);
    const anyCheckpoint = delivered.some((position) => position !== null);
    if (confirmed !== null && !anyCheckpoint && config.snapshot === 'initial') {
      // Nothing downstream depends on this slot yet: an interrupted first start.
      log.warn('cdc slot exists but no partition has a checkpoint; re-creating it for a fresh snapshot', {
        slot: config.slot,
      });
      await dropSlot(admin, config.slot);
      confirmed = null;
    }
    if (confirmed === null) {
      if (anyCheckpoint) throw cdcError('SLUICE_ERR_CDC_SLOT_MISSING', [config.slot]);
      if (!(await publicationExists(admin, config.publication))) {
        await createPublication(admin, config.publication, shapes);
        log.info('cdc publication created', { publication: config.publication, tables: config.tables });
      }
      const initial = config.snapshot === 'initial';
      const slot = await createSlot(connection, config.slot, initial);
      confirmed = slot.consistentPoint;
      log.info('cdc slot created', { slot: config.slot, consistentPoint: formatLsn(confirmed) });
      tracker = new AckTracker(shapes.length, confirmed);
      const snapshotTracker = tracker;
      if (initial && slot.snapshotName !== null) {
        await readSnapshot({
          connection,
          snapshotName: slot.snapshotName,
          consistentPoint: confirmed,
          shapes,
          context,
          batchSize: config.batchSize,
          onImported: slot.release,
          deliver: async ({ partition, events, positions }) => {
            snapshotTracker.delivered(partition, positions[positions.length - 1]);
            delivered[partition] = parsePosition(positions[positions.length - 1]);
            await handOver(partition, events, positions);
          },
        });
        log.info('cdc initial snapshot done', { slot: config.slot });
      }
      await slot.release();
    } else {
      if (!(await publicationExists(admin, config.publication))) {
        throw cdcError('SLUICE_ERR_CDC_PUBLICATION_MISSING', [config.publication]);
      }
      delivered.forEach((position, partition) => {
        if (position !== null && position.phase === 'snapshot' && !isSnapshotComplete(position)) {
          throw cdcError('SLUICE_ERR_CDC_SNAPSHOT_INTERRUPTED', [config.tables[partition]]);
        }
      });
      tracker = new AckTracker(shapes.length, confirmed);
      log.info('cdc resuming from slot', { slot: config.slot, confirmed: formatLsn(confirmed) });
    }
    acked = confirmed;
    const ackTracker = tracker;

    const assembler = new ChangeAssembler(shapes, context);
    const buffers: Array<{ events: Envelope[]; positions: string[] }> = shapes.map(() => ({
      events: [],
      positions: [],
    }));

    const acknowledge = (force: boolean) => {
      const safe = ackTracker.safeLsn();
      if (service === null || (!force && safe <= acked)) return;
      if (safe > acked) acked = safe;
      // The client reports the LSN it is given + 1 as flushed.
      void service.acknowledge(formatLsn(acked - 1n)).catch(() => {});
    };
    const flush = async (partition: number) => {
      const buffer = buffers[partition];
      if (buffer.events.length === 0) return;
      buffers[partition] = { events: [], positions: [] };
      const last = buffer.positions[buffer.positions.length - 1];
      ackTracker.delivered(partition, last);
      delivered[partition] = parsePosition(last);
      await handOver(partition, buffer.events, buffer.positions);
    };
    const handle = async (lsn: string, message: PgoutputMessage) => {
      const output = assembler.accept(message, lsn);
      if (output.kind === 'event') {
        const { partition, position, commitLsn, event } = output.routed;
        const seen = delivered[partition];
        // Only a transaction at or before the partition's last position can repeat it.
        if (seen !== null && commitLsn <= seen.lsn && comparePositions(parsePosition(position), seen) <= 0) {
          return;
        }
        const buffer = buffers[partition];
        buffer.events.push(event);
        buffer.positions.push(position);
        if (buffer.events.length >= config.batchSize) await flush(partition);
      } else if (output.kind === 'commit') {
        for (let partition = 0; partition < buffers.length; partition++) await flush(partition);
        ackTracker.transactionHandled(output.endLsn);
        acknowledge(false);
      }
    };

    /** Data messages being handled; the replication client emits keepalives without waiting for them. */
    let handling = 0;
    let reconnectingSince: number | null = null;
    const subscribe = () => {
      if (stopping || failed) return;
      const replication = new LogicalReplicationService(connection, {
        acknowledge: { auto: false, timeoutSeconds: 0 },
        flowControl: { enabled: true },
      });
      service = replication;
      replication.on('data', async (lsn: string, message: PgoutputMessage) => {
        handling++;
        try {
          await handle(lsn, message);
        } catch (error) {
          fatal(cdcError('SLUICE_ERR_CDC_OWNER_CALLBACK', ['deliver', String(error)], error));
        } finally {
          handling--;
        }
      });
      replication.on('start', () => {
        reconnectingSince = null;
        log.info('cdc streaming', { slot: config.slot, from: formatLsn(acked) });
        acknowledge(true);
      });
      replication.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
        if (!shouldRespond) return;
        // Caught up, outside a transaction, nothing waiting for a checkpoint: every change
        // before the server's position is durable downstream, so that position may be
        // confirmed. A server shutting down waits for exactly this before it stops.
        if (handling === 0 && !assembler.inTransaction && ackTracker.pendingBatches() === 0) {
          const serverLsn = parseLsn(lsn);
          if (serverLsn > acked) acked = serverLsn;
        }
        acknowledge(true);
      });
      replication.on('error', (error: Error) =>
        log.warn('cdc replication error', { slot: config.slot, error }),
      );
      const ended = (error?: unknown) => {
        if (stopping || failed || service !== replication) return;
        service = null;
        void replication.destroy().catch(() => {});
        reconnectingSince ??= Date.now();
        if (Date.now() - reconnectingSince > config.reconnectTimeoutMs) {
          fatal(
            cdcError(
              'SLUICE_ERR_CDC_STREAM_FAILED',
              [config.slot, String(error ?? 'connection closed')],
              error,
            ),
          );
          return;
        }
        log.warn('cdc replication connection lost; reconnecting', { slot: config.slot, error });
        assembler.reset();
        for (let partition = 0; partition < buffers.length; partition++) {
          buffers[partition] = { events: [], positions: [] };
        }
        setTimeout(() => void reconnect(), RECONNECT_DELAY_MS).unref();
      };
      replication.subscribe(createRawPgoutputPlugin(config.publication), config.slot, '0/00000000').then(
        () => ended(),
        (error) => ended(error),
      );
    };
    const reconnect = async () => {
      if (stopping || failed) return;
      try {
        const probe = new pg.Client(connection);
        await probe.connect();
        try {
          if ((await slotConfirmedLsn(probe, config.slot)) === null) {
            fatal(cdcError('SLUICE_ERR_CDC_SLOT_MISSING', [config.slot]));
            return;
          }
          if (!(await publicationExists(probe, config.publication))) {
            fatal(cdcError('SLUICE_ERR_CDC_PUBLICATION_MISSING', [config.publication]));
            return;
          }
        } finally {
          await probe.end().catch(() => {});
        }
        subscribe();
      } catch (error) {
        reconnectingSince ??= Date.now();
        if (Date.now() - (reconnectingSince ?? 0) > config.reconnectTimeoutMs) {
          fatal(cdcError('SLUICE_ERR_CDC_STREAM_FAILED', [config.slot, String(error)], error));
          return;
        }
        setTimeout(() => void reconnect(), RECONNECT_DELAY_MS).unref();
      }
    };

    const reportRetainedWal = async (client: pg.Client) => {
      if (options.metrics === undefined) return;
      const bytes = await slotRetainedBytes(client, config.slot);
      if (bytes === null) return;
      const labels = { source: options.metrics.source, slot: config.slot };
      options.metrics.recorder.set(RETAINED_WAL_METRIC, labels, bytes);
    };
    await reportRetainedWal(admin);
    let beating = false;
    heartbeat = setInterval(() => {
      // One heartbeat at a time: during an outage a connection attempt outlasts the interval.
      if (beating || stopping || failed) return;
      beating = true;
      void (async () => {
        try {
          if (heartbeatClient === null || !adminHealthy) {
            const previous = heartbeatClient;
            if (previous !== null && previous !== admin) void previous.end().catch(() => {});
            const client = new pg.Client(connection);
            client.on('error', () => {
              adminHealthy = false;
            });
            heartbeatClient = client;
            await client.connect();
            if (stopping || failed) {
              await client.end().catch(() => {});
              return;
            }
            adminHealthy = true;
          }
          await heartbeatClient.query("SELECT pg_logical_emit_message(true, 'sluice_heartbeat', '')");
          await reportRetainedWal(heartbeatClient);
        } catch (error) {
          adminHealthy = false;
          log.debug('cdc heartbeat failed', { error });
        } finally {
          beating = false;
        }
        acknowledge(true);
      })();
    }, config.heartbeatMs);
    heartbeat.unref();
    admin.on('error', () => {
      adminHealthy = false;
    });

    subscribe();
  } catch (error) {
    await shutdown();
    throw error;
  }

  return {
    onCheckpointed(partition, position) {
      if (tracker === null || failed || stopping) return;
      tracker.checkpointed(partition, position);
      const safe = tracker.safeLsn();
      if (service !== null && safe > acked) {
        acked = safe;
        void service.acknowledge(formatLsn(acked - 1n)).catch(() => {});
      }
    },
    confirmedLsn: () => formatLsn(acked),
    async retainedWalBytes() {
      const client = new pg.Client(connection);
      await client.connect();
      try {
        return await slotRetainedBytes(client, config.slot);
      } finally {
        await client.end().catch(() => {});
      }
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      // Stop reading WAL, then let what waits for Kafka be published and handed on: the
      // partitions' last checkpoints then cover it, and a restart does not publish it again.
      if (heartbeat !== null) clearInterval(heartbeat);
      await service?.destroy().catch(() => {});
      await publisher?.drained().catch(() => {});
      await shutdown();
    },
  };
}

function records(events: Envelope[], positions: string[]): PartitionMessage {
  return { kind: 'records', events, positions, failures: [] };
}
