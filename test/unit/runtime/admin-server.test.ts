import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AdminServer, startAdminServer } from '../../../runtime/admin-server.ts';
import { Metrics } from '../../../runtime/metrics.ts';

describe('admin server', () => {
  let server: AdminServer;
  let ready = false;
  const metrics = new Metrics();
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  before(async () => {
    metrics.inc('sluice_events_in_total', { source: 'clicks', partition: 3 }, 42);
    server = await startAdminServer({ host: '127.0.0.1', port: 0, metrics, isReady: () => ready });
  });
  after(() => server.close());

  it('serves the metrics in Prometheus text format', async () => {
    const response = await fetch(url('/metrics'));
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const body = await response.text();
    assert.match(body, /# TYPE sluice_events_in_total counter/);
    assert.match(body, /sluice_events_in_total\{source="clicks",partition="3"\} 42/);
    assert.match(body, /# TYPE sluice_processing_latency_seconds histogram/);
  });

  it('answers healthz with 200 while the process runs', async () => {
    assert.equal((await fetch(url('/healthz'))).status, 200);
  });

  it('answers readyz with 503 until ready, then 200', async () => {
    assert.equal((await fetch(url('/readyz'))).status, 503);
    ready = true;
    assert.equal((await fetch(url('/readyz'))).status, 200);
  });

  it('answers 404 for unknown paths and 405 for methods other than GET', async () => {
    assert.equal((await fetch(url('/nope'))).status, 404);
    const post = await fetch(url('/metrics'), { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });
});
