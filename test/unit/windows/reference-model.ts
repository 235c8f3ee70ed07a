/**
 * A brute-force model of the window rules (issue 4, section 3), written apart from
 * the operator and as plainly as possible: every retained window keeps the list of its
 * events, and every row is recomputed from that list when it fires. Property tests
 * hold the operator to it. Output is one string per emission: `row <json>` or
 * `late <json>`, in emission order.
 */
import type { SluiceEvent, WindowOperatorConfig } from '../../../actors/windows/index.ts';

interface Arrival {
  event: SluiceEvent;
  time: number;
  seq: number;
}

interface Instance {
  keyJson: string;
  key: unknown[];
  /** Fixed for tumbling/hopping; sessions derive start and end from their events. */
  fixedStart?: number;
  arrivals: Arrival[];
  version: number;
  fired: boolean;
}

export class ReferenceModel {
  watermark = Number.NEGATIVE_INFINITY;
  readonly output: string[] = [];
  private instances: Instance[] = [];
  private seq = 0;

  constructor(private readonly config: WindowOperatorConfig) {}

  get openWindows(): number {
    return this.instances.length;
  }

  private startOf(instance: Instance): number {
    if (instance.fixedStart !== undefined) return instance.fixedStart;
    return Math.min(...instance.arrivals.map((arrival) => arrival.time));
  }

  private endOf(instance: Instance): number {
    const window = this.config.window;
    if (window.type === 'session') return Math.max(...instance.arrivals.map((a) => a.time)) + window.gapMs;
    return this.startOf(instance) + window.sizeMs;
  }

  private keyOf(event: SluiceEvent): unknown[] {
    return this.config.groupBy.map((field) => (event[field] === undefined ? null : event[field]));
  }

  process(event: SluiceEvent, time: number): void {
    const before = this.watermark;
    const arrival = { event, time, seq: this.seq++ };
    const key = this.keyOf(event);
    const keyJson = JSON.stringify(key);
    const lateness = this.config.allowedLatenessMs;
    const window = this.config.window;
    if (window.type === 'session') {
      const end = time + window.gapMs;
      if (before >= end + lateness) {
        this.late(event, time, end, before);
      } else {
        const touching = this.instances.filter(
          (other) => other.keyJson === keyJson && this.startOf(other) < end && time < this.endOf(other),
        );
        this.instances = this.instances.filter((other) => !touching.includes(other));
        const merged: Instance = {
          keyJson,
          key,
          arrivals: [...touching.flatMap((other) => other.arrivals), arrival],
          version: Math.max(0, ...touching.map((other) => other.version)),
          fired: false,
        };
        this.instances.push(merged);
        if (this.endOf(merged) <= before) this.fire(merged);
      }
    } else {
      const size = window.sizeMs;
      const slide = window.type === 'hopping' ? window.slideMs : size;
      const starts: number[] = [];
      for (let start = Math.floor((time - size) / slide) * slide; start <= time; start += slide) {
        if (start <= time && time < start + size) starts.push(start);
      }
      for (const start of starts) {
        const end = start + size;
        if (before >= end + lateness) {
          this.late(event, start, end, before);
          continue;
        }
        let instance = this.instances.find(
          (other) => other.keyJson === keyJson && other.fixedStart === start,
        );
        if (instance === undefined) {
          instance = { keyJson, key, fixedStart: start, arrivals: [], version: 0, fired: false };
          this.instances.push(instance);
        }
        instance.arrivals.push(arrival);
        if (end <= before) this.fire(instance);
      }
    }
    this.advance(Math.max(this.watermark, time - this.config.maxOutOfOrderMs));
  }

  advance(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    const due = this.instances
      .filter((instance) => !instance.fired && this.endOf(instance) <= watermark)
      .sort(
        (a, b) =>
          this.endOf(a) - this.endOf(b) ||
          this.startOf(a) - this.startOf(b) ||
          (a.keyJson < b.keyJson ? -1 : a.keyJson > b.keyJson ? 1 : 0),
      );
    for (const instance of due) this.fire(instance);
    this.instances = this.instances.filter(
      (instance) => !(instance.fired && this.endOf(instance) + this.config.allowedLatenessMs <= watermark),
    );
  }

  private late(event: SluiceEvent, start: number, end: number, watermark: number): void {
    this.output.push(`late ${JSON.stringify({ event, window_start: start, window_end: end, watermark })}`);
  }

  private fire(instance: Instance): void {
    instance.version += 1;
    instance.fired = true;
    const row: Record<string, unknown> = {
      window_start: this.startOf(instance),
      window_end: this.endOf(instance),
    };
    this.config.groupBy.forEach((field, index) => {
      row[field] = instance.key[index];
    });
    const arrivals = [...instance.arrivals].sort((a, b) => a.seq - b.seq);
    for (const aggregate of this.config.aggregates) row[aggregate.name] = aggregateOf(aggregate, arrivals);
    row.version = instance.version;
    this.output.push(`row ${JSON.stringify(row)}`);
  }
}

function aggregateOf(aggregate: { fn: string; field?: string }, arrivals: Arrival[]): unknown {
  const field = aggregate.field;
  if (field === undefined) return arrivals.length;
  const present = arrivals.filter((a) => a.event[field] !== undefined && a.event[field] !== null);
  const numbers = present.map((a) => a.event[field]).filter((v): v is number => typeof v === 'number');
  switch (aggregate.fn) {
    case 'count':
      return present.length;
    case 'sum':
      return numbers.length === 0 ? null : numbers.reduce((total, v) => total + v, 0);
    case 'avg':
      return numbers.length === 0 ? null : numbers.reduce((total, v) => total + v, 0) / numbers.length;
    case 'min':
      return numbers.length === 0 ? null : Math.min(...numbers);
    case 'max':
      return numbers.length === 0 ? null : Math.max(...numbers);
    case 'count_distinct':
      return new Set(present.map((a) => `${typeof a.event[field]}:${String(a.event[field])}`)).size;
    case 'first': {
      let best: Arrival | null = null;
      for (const a of present) if (best === null || a.time < best.time) best = a;
      return best === null ? null : best.event[field];
    }
    case 'last': {
      let best: Arrival | null = null;
      for (const a of present) if (best === null || a.time >= best.time) best = a;
      return best === null ? null : best.event[field];
    }
  }
  throw new Error(`unknown aggregate ${aggregate.fn}`);
}
