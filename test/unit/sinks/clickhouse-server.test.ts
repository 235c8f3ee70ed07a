import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectServer,
  parseServerVersion,
  supportsDeduplicationToken,
} from '../../../actors/sinks/clickhouse-server.ts';

describe('ClickHouse server features', () => {
  it('reads major and minor from the version the server reports', () => {
    assert.deepEqual(parseServerVersion('18.16.1'), { major: 18, minor: 16 });
    assert.deepEqual(parseServerVersion('24.3.2.23'), { major: 24, minor: 3 });
    assert.equal(parseServerVersion('unknown'), null);
    assert.equal(parseServerVersion(''), null);
  });

  it('takes insert_deduplication_token from 22.2 on, never before', () => {
    for (const version of ['18.16.1', '21.12.4.1', '22.1.3.7', 'unknown', 'x.y'])
      assert.equal(supportsDeduplicationToken(version), false, version);
    for (const version of ['22.2.2.1', '22.3.1', '23.1.1.3077', '24.8.4.13', '100.0'])
      assert.equal(supportsDeduplicationToken(version), true, version);
  });

  it('asks the server its version once and derives the features from the reply', async () => {
    const asked: string[] = [];
    const reply = (version: unknown) => async (query: string) => {
      asked.push(query);
      return [{ version }];
    };
    assert.deepEqual(await detectServer(reply('18.16.1')), { version: '18.16.1', deduplicationToken: false });
    assert.deepEqual(await detectServer(reply('24.3.2.23')), {
      version: '24.3.2.23',
      deduplicationToken: true,
    });
    assert.deepEqual(await detectServer(reply(undefined)), { version: 'unknown', deduplicationToken: false });
    assert.deepEqual(await detectServer(async () => []), { version: 'unknown', deduplicationToken: false });
    assert.deepEqual(asked, [
      'SELECT version() AS version',
      'SELECT version() AS version',
      'SELECT version() AS version',
    ]);
  });
});
