import { z } from 'zod';
import {
  duration,
  EVENT_TIME_FIELD_DOC,
  eventTime,
  fieldPath,
  integerAtLeast,
} from '../schema-primitives.ts';

/**
 * The `cdc` source: PostgreSQL change data capture through a logical replication slot
 * (pgoutput). Each listed table is one source partition; positions are
 * `<commit LSN>#<ordinal>` (snapshot rows: `snapshot@<LSN>#<n>/<rows>`).
 */

const identifier = (what: string) =>
  z
    .string({ error: `a ${what} name` })
    .regex(/^[a-z_][a-z0-9_]*$/, { error: `a ${what} name: lower-case letters, digits and _` });

export const cdcSourceSchema = z
  .strictObject({
    type: z
      .literal('cdc')
      .describe(
        'PostgreSQL change data capture: every INSERT, UPDATE and DELETE of the listed tables, as Debezium change events.',
      ),
    connection: z
      .string({ error: 'a postgres:// connection URL' })
      .regex(/^postgres(ql)?:\/\//, { error: 'a postgres:// connection URL' })
      .describe(
        'Connection URL; the role needs REPLICATION (and CREATE on the database for the publication).',
      ),
    slot: identifier('replication slot').describe(
      'Logical replication slot; created (with a snapshot) when missing.',
    ),
    publication: identifier('publication').describe(
      'Publication; created for the listed tables when missing.',
    ),
    tables: z
      .array(z.string().regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/, { error: 'schema.table' }), {
        error: 'a list of tables, e.g. [public.users]',
      })
      .min(1, { error: 'at least one table' })
      .describe('Tables to capture, `schema.table` (schema defaults to public); table i is partition i.'),
    snapshot: z
      .enum(['initial', 'never'], { error: "'initial' or 'never'" })
      .default('initial')
      .describe(
        "initial: read every table (op r) in the slot's exported snapshot before streaming; never: stream only.",
      ),
    topicPrefix: z
      .string({ error: 'a topic prefix' })
      .min(1)
      .optional()
      .describe(
        'Logical server name: `source.name` in events and the Kafka topic prefix. Default: the slot name.',
      ),
    envelope: z
      .enum(['debezium', 'unwrap'], { error: "'debezium' or 'unwrap'" })
      .default('debezium')
      .describe(
        "debezium: Debezium's full change envelope; unwrap: the row itself plus __op, __table, __lsn, __source_ts_ms, __deleted (Debezium's ExtractNewRecordState).",
      ),
    key: fieldPath
      .default('_key')
      .describe('Field holding the record key (the primary key object by default).'),
    time: eventTime(fieldPath.default('source.ts_ms').describe(EVENT_TIME_FIELD_DOC))
      .prefault({})
      .describe(
        "Event time: 'source.ts_ms' (commit time, stable across replays) by default; with envelope unwrap use '__source_ts_ms' or a column.",
      ),
    heartbeat: duration
      .prefault('10s')
      .describe('How often a heartbeat message is written so the slot advances on a quiet database.'),
    batchSize: integerAtLeast(1).default(500).describe('Changes per delivery to a table partition at most.'),
    reconnectTimeout: duration
      .prefault('60s')
      .describe('How long a lost replication connection is retried before the process stops with an error.'),
  })
  .transform(({ heartbeat, reconnectTimeout, topicPrefix, ...rest }) => ({
    ...rest,
    topicPrefix: topicPrefix ?? rest.slot,
    heartbeatMs: heartbeat,
    reconnectTimeoutMs: reconnectTimeout,
    partitions: rest.tables.length,
  }))
  .describe('A PostgreSQL CDC source.');
