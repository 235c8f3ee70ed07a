import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Metrics } from '../../../runtime/metrics.ts';
import { RateMeter, renderStatus, StatusLine } from '../../../runtime/status-line.ts';

describe('status line', () => {
  it('renders rate, lag, windows, late events and dead letters on one line', () => {
    assert.equal(
      renderStatus({
        eventsPerSecond: 1_250_000,
        watermarkLagMs: 1234,
        windowsEmitted: 3400,
        lateEvents: 12,
        deadLetters: 0,
      }),
      '1.25M ev/s · lag 1.2s · windows 3,400 · late 12 · dead letters 0',
    );
    assert.equal(
      renderStatus({
        eventsPerSecond: 42,
        watermarkLagMs: undefined,
        windowsEmitted: 0,
        lateEvents: 0,
        deadLetters: 1,
      }),
      '42 ev/s · lag – · windows 0 · late 0 · dead letters 1',
    );
  });

  it('measures events per second over the last second', () => {
    const meter = new RateMeter();
    assert.equal(meter.sample(0, 0), 0);
    assert.equal(meter.sample(500, 500), 1000);
    assert.equal(meter.sample(1000, 3000), 3000);
    assert.equal(meter.sample(2000, 4000), 1000);
    assert.equal(meter.sample(3000, 4000), 0);
  });

  it('redraws in place on a TTY and ends with a newline on stop', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true });
    let written = '';
    stream.on('data', (chunk: Buffer) => {
      written += chunk.toString();
    });
    const metrics = new Metrics();
    const status = new StatusLine({ stream, ttyIntervalMs: 10 });
    status.start(metrics);
    metrics.inc('sluice_late_events_total', { window: 'w', partition: 0 }, 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    status.stop();
    const redraw = '\r\u001b[2K';
    assert.ok(written.startsWith(redraw));
    assert.match(written, /late 5/);
    assert.ok(written.split(redraw).length > 2, 'redrawn several times');
    assert.ok(written.endsWith('\n'));
    assert.equal(written.split('\n').length, 2, 'one line only');
  });

  it('writes plain lines when not on a TTY', async () => {
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (chunk: Buffer) => {
      written += chunk.toString();
    });
    const status = new StatusLine({ stream, plainIntervalMs: 20 });
    status.start(new Metrics());
    await new Promise((resolve) => setTimeout(resolve, 70));
    status.stop();
    assert.doesNotMatch(written, /\r/);
    assert.ok(written.split('\n').filter(Boolean).length >= 2);
  });
});
