/**
 * Where the real services of `deploy/local/services up` listen, for integration tests.
 *
 * Each setting reads an environment variable first, so the same tests run against
 * services elsewhere (docker-compose, a CI sidecar); the defaults are exactly what the
 * deploy/local scripts start. Tests import these instead of repeating host names.
 */
import { randomBytes } from 'node:crypto';

const env = process.env;

/** Kafka bootstrap servers (`SLUICE_KAFKA_BROKERS`, comma-separated). */
export const kafkaBrokers: string[] = (env.SLUICE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** PostgreSQL with wal_level=logical; the role may open replication connections. */
export const postgres = {
  connectionString: env.SLUICE_PG_URL ?? 'postgresql://sluice:sluice@127.0.0.1:5432/sluice_test',
  host: env.SLUICE_PG_HOST ?? '127.0.0.1',
  port: Number(env.SLUICE_PG_PORT ?? 5432),
  user: env.SLUICE_PG_USER ?? 'sluice',
  password: env.SLUICE_PG_PASSWORD ?? 'sluice',
  database: env.SLUICE_PG_DATABASE ?? 'sluice_test',
} as const;

/** ClickHouse HTTP interface (user `default`, no password). */
export const clickhouse = {
  url: env.SLUICE_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  username: env.SLUICE_CLICKHOUSE_USER ?? 'default',
  password: env.SLUICE_CLICKHOUSE_PASSWORD ?? '',
} as const;

/** The BigQuery emulator's REST endpoint, and the project and dataset `up` creates. */
export const bigquery = {
  apiEndpoint: env.SLUICE_BIGQUERY_ENDPOINT ?? 'http://127.0.0.1:9050',
  projectId: env.SLUICE_BIGQUERY_PROJECT ?? 'sluice-test',
  dataset: env.SLUICE_BIGQUERY_DATASET ?? 'sluice',
} as const;

/**
 * Options for `new BigQuery(...)` that talk to the emulator without credentials.
 * The client still asks google-auth-library for credentials and goes on when none
 * exist; `METADATA_SERVER_DETECTION=none` stops that lookup from probing the GCE
 * metadata server first (a warning and, off-cloud, a wasted round trip).
 */
export function bigQueryClientOptions(): { projectId: string; apiEndpoint: string } {
  env.METADATA_SERVER_DETECTION ??= 'none';
  return { projectId: bigquery.projectId, apiEndpoint: bigquery.apiEndpoint };
}

/**
 * A name no other test run uses, for topics, tables, slots and publications:
 * `<prefix>_<ms since epoch>_<random hex>`, lower case, valid in every service here.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
}
