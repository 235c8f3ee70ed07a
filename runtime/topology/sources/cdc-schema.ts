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

/** Kafka's legal topic characters; a topic is `<topicPrefix>.<schema>.<table>`. */
const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9._-]+$/;

const publishSchema = z
  .strictObject({
    type: z.literal('kafka', { error: "'kafka'" }).describe('Publish to Kafka, as Debezium Server does.'),
    brokers: z
      .array(
        z.string({ error: 'a broker address host:port' }).min(1, { error: 'a broker address host:port' }),
        {
          error: 'a list of broker addresses',
        },
      )
      .min(1, { error: 'at least one broker address, e.g. [127.0.0.1:9092]' })
      .describe('Bootstrap brokers, host:port.'),
    topics: z
      .enum(['create', 'existing'], { error: "'create' or 'existing'" })
      .default('existing')
      .describe(
        'create: create the missing topics at start; existing: the topics must exist (checked at start).',
      ),
    partitions: integerAtLeast(1)
      .default(1)
      .describe('Partitions of each topic created (topics: create); records are placed by key (murmur2).'),
    replicationFactor: integerAtLeast(1)
      .optional()
      .describe("Replication factor of each topic created. Absent: the broker's default."),
    tombstones: z
      .boolean({ error: 'true or false' })
      .default(true)
      .describe(
        "After a delete, also write a record with the key and a null value, so compaction drops the row (Debezium's tombstones.on.delete).",
      ),
  })
  .describe(
    'Publish every change to the Kafka topic `<topicPrefix>.<schema>.<table>`: key = the primary key JSON, ' +
      'value = the change event. The slot is confirmed only after Kafka acknowledged the records.',
  );

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
      .regex(TOPIC_PREFIX_PATTERN, { error: 'a topic prefix: letters, digits, ., _ and -' })
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
    publish: publishSchema.optional(),
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
