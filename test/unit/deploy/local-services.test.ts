import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// Checks the deploy/local scripts without starting anything: syntax, usage errors,
// and the broker settings the integration tests rely on.
const localDir = fileURLToPath(new URL('../../../deploy/local/', import.meta.url));
const scripts = ['services', 'lib.sh', 'kafka.sh', 'postgres.sh', 'clickhouse.sh', 'bigquery.sh'];

function runServices(...args: string[]) {
  return spawnSync('bash', [`${localDir}services`, ...args], { encoding: 'utf8', timeout: 10_000 });
}

/** key=value lines of a Java properties file, comments dropped. */
function readProperties(path: string): Map<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at).trim(), line.slice(at + 1).trim()] as [string, string];
    });
  return new Map(entries);
}

describe('deploy/local/services', () => {
  for (const script of scripts) {
    it(`${script} parses as bash`, () => {
      const result = spawnSync('bash', ['-n', `${localDir}${script}`], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    });
  }

  it('prints its usage and exits 2 for an unknown command', () => {
    const result = runServices('restart');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage: .* up\|down/);
  });

  it('prints its usage and exits 2 for an unknown service, before starting anything', () => {
    const result = runServices('up', 'redis');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /kafka\|postgres\|clickhouse\|bigquery\|all/);
  });
});

describe('deploy/local/kafka/server.properties', () => {
  const properties = readProperties(`${localDir}kafka/server.properties`);

  it('runs one KRaft node as broker and controller on loopback ports', () => {
    assert.equal(properties.get('process.roles'), 'broker,controller');
    assert.equal(properties.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    assert.equal(properties.get('controller.quorum.voters'), '1@127.0.0.1:9093');
    assert.ok(![...properties.keys()].some((key) => key.startsWith('zookeeper')));
  });

  it('leaves topic creation to the tests and needs no replicas for internal topics', () => {
    assert.equal(properties.get('auto.create.topics.enable'), 'false');
    assert.equal(properties.get('num.partitions'), '1');
    assert.equal(properties.get('offsets.topic.replication.factor'), '1');
    assert.equal(properties.get('transaction.state.log.replication.factor'), '1');
    assert.equal(properties.get('transaction.state.log.min.isr'), '1');
    assert.equal(properties.get('group.initial.rebalance.delay.ms'), '0');
  });
});

describe('deploy/local/kafka/pom.xml', () => {
  it('pins a Kafka 3.9 release for Scala 2.13', () => {
    const pom = readFileSync(`${localDir}kafka/pom.xml`, 'utf8');
    assert.match(pom, /<kafka\.version>3\.9\.\d+<\/kafka\.version>/);
    assert.match(pom, /<artifactId>kafka_2\.13<\/artifactId>/);
  });
});
