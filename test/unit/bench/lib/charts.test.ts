import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMicroseconds, latencyChart, throughputChart } from '../../../../bench/lib/charts.ts';
import type { SystemFigures } from '../../../../bench/lib/scenario-result.ts';

function figures(system: string, eventsPerSecond: number, p50: number): SystemFigures {
  return {
    system,
    scenario: 'x',
    events: 1,
    eventsPerSecond,
    wallMs: 1,
    cpuMs: 1,
    peakRssMiB: 1,
    latencyOf: 'test',
    latencyUs: { p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 10, count: 10 },
  };
}

describe('bench charts', () => {
  it('draw one latency curve and one legend entry per system, escaping names', () => {
    const svg = latencyChart('t', [figures('sluice', 10, 100), figures('a<b', 5, 1000)]);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.match(svg, /a&lt;b/);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it('draw bars whose widths follow the throughput', () => {
    const svg = throughputChart('t', [figures('fast', 200, 1), figures('slow', 100, 1)]);
    const widths = [...svg.matchAll(/<rect x="180" y="\d+" width="([\d.]+)"/g)].map((match) =>
      Number(match[1]),
    );
    assert.equal(widths.length, 2);
    assert.equal(widths[0], widths[1] * 2);
    assert.match(svg, />200\/s</);
  });

  it('format microseconds in the unit a reader expects', () => {
    assert.equal(formatMicroseconds(12), '12 µs');
    assert.equal(formatMicroseconds(1500), '1.5 ms');
    assert.equal(formatMicroseconds(2_500_000), '2.5 s');
  });
});
