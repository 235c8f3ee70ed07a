import type { Metrics, MetricsSnapshot } from './metrics.ts';

export interface StatusFigures {
  eventsPerSecond: number;
  /** Largest watermark lag over partitions (the one holding results back), if known. */
  watermarkLagMs: number | undefined;
  windowsEmitted: number;
  lateEvents: number;
  deadLetters: number;
}

/** One status line, e.g. `1.25M ev/s · lag 1.2s · windows 3,400 · late 12 · dead letters 0`. */
export function renderStatus(figures: StatusFigures): string {
  const lag = figures.watermarkLagMs === undefined ? '–' : formatDuration(figures.watermarkLagMs);
  return [
    `${formatRate(figures.eventsPerSecond)} ev/s`,
    `lag ${lag}`,
    `windows ${figures.windowsEmitted.toLocaleString('en-US')}`,
    `late ${figures.lateEvents.toLocaleString('en-US')}`,
    `dead letters ${figures.deadLetters.toLocaleString('en-US')}`,
  ].join(' · ');
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}K`;
  return String(Math.round(perSecond));
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${(ms / 60_000).toFixed(1)}m`;
}

/**
 * Events per second over (about) the last second, from samples of a running total.
 * Pure: the caller passes the clock.
 */
export class RateMeter {
  private samples: Array<{ at: number; total: number }> = [];

  /** Adds a sample and returns the rate over the oldest sample at most ~1 s old. */
  sample(at: number, total: number): number {
    this.samples.push({ at, total });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= 1000) this.samples.shift();
    const oldest = this.samples[0]!;
    const elapsed = at - oldest.at;
    return elapsed > 0 ? ((total - oldest.total) * 1000) / elapsed : 0;
  }
}

export interface StatusLineOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Redraw interval on a TTY; default 250 ms. */
  ttyIntervalMs?: number;
  /** Interval between plain lines when not a TTY; default 5 s. */
  plainIntervalMs?: number;
  now?: () => number;
}

/**
 * Live one-line status for the terminal: redrawn in place (`\r` + clear line) about four
 * times a second on a TTY, one plain line every 5 s otherwise (logs, CI).
 *
 * Threading model: main thread; reads `Metrics.snapshot()` on a timer.
 * Life cycle: `start(metrics)` → `stop()` (draws a final line and ends it with a newline on a TTY).
 */
export class StatusLine {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly options: StatusLineOptions;
  private readonly now: () => number;
  private readonly meter = new RateMeter();
  private timer: ReturnType<typeof setInterval> | undefined;
  private metrics: Metrics | undefined;

  constructor(options: StatusLineOptions = {}) {
    this.options = options;
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
  }

  start(metrics: Metrics): void {
    if (this.timer) return;
    this.metrics = metrics;
    const tty = this.stream.isTTY === true;
    const interval = tty ? (this.options.ttyIntervalMs ?? 250) : (this.options.plainIntervalMs ?? 5000);
    this.meter.sample(this.now(), metrics.snapshot().eventsIn);
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(): void {
    const snapshot: MetricsSnapshot = this.metrics!.snapshot();
    const line = renderStatus({
      eventsPerSecond: this.meter.sample(this.now(), snapshot.eventsIn),
      watermarkLagMs: snapshot.maxWatermarkLagMs,
      windowsEmitted: snapshot.windowsEmitted,
      lateEvents: snapshot.lateEvents,
      deadLetters: snapshot.deadLetters,
    });
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
