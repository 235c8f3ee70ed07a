/**
 * Hand-rolled SVG charts for RESULTS.md: latency percentile curves per system (log scale,
 * p50 → max) and throughput bars. Pure: figures in, SVG text out.
 */
import type { SystemFigures } from './scenario-result.ts';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const WIDTH = 640;
const HEIGHT = 320;
const MARGIN = { left: 70, right: 170, top: 30, bottom: 40 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function frame(title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(title)}</text>
${body}
</svg>
`;
}

export function formatMicroseconds(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(value >= 10_000_000 ? 0 : 1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)} ms`;
  return `${Math.round(value)} µs`;
}

/** Latency percentiles (p50, p90, p99, p99.9, max) per system on a log-scale y axis. */
export function latencyChart(title: string, systems: SystemFigures[]): string {
  const withLatency = systems.filter((system) => system.latencyUs !== null);
  const labels = ['p50', 'p90', 'p99', 'p99.9', 'max'];
  const values = withLatency.map((system) => {
    const l = system.latencyUs as NonNullable<SystemFigures['latencyUs']>;
    return [l.p50, l.p90, l.p99, l.p999, l.max].map((value) => Math.max(1, value));
  });
  const all = values.flat();
  if (all.length === 0) return frame(title, '<text x="50" y="60">no latency samples</text>');
  const low = Math.floor(Math.log10(Math.min(...all)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...all))));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (index: number) => MARGIN.left + (index * plotWidth) / (labels.length - 1);
  const y = (value: number) =>
    MARGIN.top + plotHeight - ((Math.log10(value) - low) / (high - low)) * plotHeight;
  const parts: string[] = [];
  for (let decade = low; decade <= high; decade += 1) {
    const at = y(10 ** decade);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${at}" y2="${at}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${at + 4}" text-anchor="end">${formatMicroseconds(10 ** decade)}</text>`,
    );
  }
  labels.forEach((label, index) => {
    parts.push(
      `<text x="${x(index)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${label}</text>`,
    );
  });
  values.forEach((series, index) => {
    const color = COLORS[index % COLORS.length];
    const points = series.map((value, at) => `${x(at).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    for (const point of points.split(' ')) {
      const [px, py] = point.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    }
    const legendY = MARGIN.top + 14 + index * 16;
    parts.push(
      `<rect x="${WIDTH - MARGIN.right + 12}" y="${legendY - 9}" width="10" height="10" fill="${color}"/>`,
    );
    parts.push(
      `<text x="${WIDTH - MARGIN.right + 26}" y="${legendY}">${escapeXml(withLatency[index].system)}</text>`,
    );
  });
  return frame(title, parts.join('\n'));
}

/** Events per second per system as horizontal bars. */
export function throughputChart(title: string, systems: SystemFigures[]): string {
  if (systems.length === 0) return frame(title, '<text x="50" y="60">no figures</text>');
  const left = 180;
  const barHeight = 22;
  const maximum = Math.max(...systems.map((system) => system.eventsPerSecond), 1);
  const plotWidth = WIDTH - left - 110;
  const parts = systems.map((system, index) => {
    const top = MARGIN.top + 10 + index * (barHeight + 12);
    const width = Math.max(1, (system.eventsPerSecond / maximum) * plotWidth);
    const label = `${Math.round(system.eventsPerSecond).toLocaleString('en-US')}/s`;
    return [
      `<text x="${left - 8}" y="${top + 15}" text-anchor="end">${escapeXml(system.system)}</text>`,
      `<rect x="${left}" y="${top}" width="${width.toFixed(1)}" height="${barHeight}" fill="${COLORS[index % COLORS.length]}"/>`,
      `<text x="${left + width + 6}" y="${top + 15}">${label}</text>`,
    ].join('\n');
  });
  return frame(title, parts.join('\n'));
}
