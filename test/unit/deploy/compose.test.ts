import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// No Docker engine runs here: these tests read the compose files, they do not start them.
const composeDir = fileURLToPath(new URL('../../../deploy/compose/', import.meta.url));
const read = (name: string) => readFileSync(`${composeDir}${name}`, 'utf8');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  command?: string[] | string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const services = compose.services;

/** The host ports a service publishes ("host:container" entries). */
function hostPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((mapping) => Number(mapping.split(':')[0]));
}

describe('deploy/compose/docker-compose.yml', () => {
  it('defines Kafka, PostgreSQL, ClickHouse and sluice', () => {
    for (const name of ['kafka', 'postgres', 'clickhouse', 'sluice']) assert.ok(services[name], name);
  });

  it('publishes each service on its usual port, with no port used twice', () => {
    assert.deepEqual(hostPorts(services.kafka), [9092]);
    assert.deepEqual(hostPorts(services.postgres), [5432]);
    assert.deepEqual(hostPorts(services.clickhouse), [8123, 9000]);
    assert.deepEqual(hostPorts(services.sluice), [9464]);
    const all = Object.values(services).flatMap(hostPorts);
    assert.equal(new Set(all).size, all.length);
  });

  it('runs Kafka 3.9 in KRaft mode, without ZooKeeper and without automatic topic creation', () => {
    const kafka = services.kafka;
    assert.match(kafka.image ?? '', /^apache\/kafka:3\.9\./);
    assert.equal(kafka.environment?.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.ok(kafka.environment?.KAFKA_CONTROLLER_QUORUM_VOTERS);
    assert.equal(kafka.environment?.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'false');
    assert.ok(!Object.keys(kafka.environment ?? {}).some((key) => key.includes('ZOOKEEPER')));
    assert.ok(!('zookeeper' in services));
  });

  it('advertises Kafka to containers by service name and to the host on localhost', () => {
    const advertised = String(services.kafka.environment?.KAFKA_ADVERTISED_LISTENERS);
    assert.match(advertised, /\/\/kafka:19092/);
    assert.match(advertised, /\/\/localhost:9092/);
  });

  it('starts PostgreSQL with logical WAL for CDC', () => {
    const command = services.postgres.command;
    assert.ok(Array.isArray(command));
    assert.ok(command.includes('wal_level=logical'));
    assert.match(services.postgres.image ?? '', /^postgres:\d+/);
  });

  it('uses a current ClickHouse release rather than the old Debian one', () => {
    const [, major] = /^clickhouse\/clickhouse-server:(\d+)/.exec(services.clickhouse.image ?? '') ?? [];
    assert.ok(Number(major) >= 24, `image ${services.clickhouse.image}`);
  });

  it('builds sluice from deploy/compose/Dockerfile and starts it after its dependencies', () => {
    const sluice = services.sluice;
    assert.deepEqual(sluice.build, { context: '../..', dockerfile: 'deploy/compose/Dockerfile' });
    assert.deepEqual(Object.keys(sluice.depends_on ?? {}).sort(), ['clickhouse', 'kafka-init', 'postgres']);
    assert.ok(sluice.volumes?.includes('./topology.yaml:/topology.yaml:ro'));
    for (const name of ['kafka', 'postgres', 'clickhouse']) assert.ok(services[name].healthcheck, name);
  });
});

describe('deploy/compose/Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('is based on Node 20, installs with npm ci and starts the topology at /topology.yaml', () => {
    assert.match(dockerfile, /^FROM node:20/m);
    assert.match(dockerfile, /^RUN npm ci\b/m);
    // Node's flags between (test/unit/cli/node-flags.test.ts checks which).
    assert.match(dockerfile, /^ENTRYPOINT \["node", (?:"--[^"]+", )*"runtime\/cli\/bin\.js"\]$/m);
    assert.match(dockerfile, /^CMD \["start", "\/topology\.yaml"\]$/m);
  });
});

describe('deploy/compose/topology.yaml', () => {
  const topology = parse(read('topology.yaml')) as {
    admin: { port: number; host: string };
    sources: Record<string, { type: string; brokers: string[] }>;
  };

  it('reads Kafka through the compose network and serves admin on the published port', () => {
    assert.deepEqual(topology.sources.clicks, {
      ...topology.sources.clicks,
      type: 'kafka',
      brokers: ['kafka:19092'],
    });
    assert.deepEqual(topology.admin, { port: 9464, host: '0.0.0.0' });
  });
});
