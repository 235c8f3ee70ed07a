/**
 * The `enrich:` steps of one window or stream: each event is joined to the current row
 * of a lookup table by key and the chosen columns are copied into it at the top level,
 * where groupBy and the aggregates read them. Pure apart from reading the worker's
 * replicas (`table-replica.ts`).
 *
 * Consistency: an event meets the row as the worker's replica holds it when the event
 * is processed (what Kafka Streams' KStream–GlobalKTable join gives for a non-versioned
 * table), not the row as of the event's time. A change reaches the replicas moments
 * after Postgres commits it; events processed from then on see it.
 *
 * Threading model: owned by one partition pipeline on its worker thread.
 */
import type { SluiceEvent } from '../windows/index.ts';
import { lookupKeyText } from './table-change.ts';
import { type TableReplica, tableReplica } from './table-replica.ts';

/** One enrich step as the partition runs it (the topology's step, columns resolved at start). */
export interface EnrichPlan {
  table: string;
  /** Event field (dotted path) holding the key. */
  on: string;
  /** Event field ← table column, in order. */
  fields: Array<{ field: string; column: string }>;
  onMissing: 'drop' | 'keep' | 'dead-letter';
  /** Whether the partition waits for the table to be loaded before its first event. */
  awaitTable: boolean;
}

/** An event whose key found no row, under a policy that takes it out of the flow. */
export class EnrichMiss {
  constructor(
    readonly table: string,
    readonly policy: 'drop' | 'dead-letter',
    readonly reason: string,
  ) {}
}

interface Step {
  plan: EnrichPlan;
  replica: TableReplica;
  path: string[];
}

export class Enricher {
  readonly #steps: Step[];
  /** Events without a row, by `<table>\0<policy>`, since the last `takeMissing`. */
  #missing = new Map<string, number>();

  constructor(plans: readonly EnrichPlan[]) {
    this.#steps = plans.map((plan) => ({
      plan,
      replica: tableReplica(plan.table),
      path: plan.on.split('.'),
    }));
  }

  get ready(): boolean {
    return this.#steps.every((step) => !step.plan.awaitTable || step.replica.ready);
  }

  /** Resolves when every table the steps read is bootstrapped on this worker. */
  async whenReady(): Promise<void> {
    for (const step of this.#steps) if (step.plan.awaitTable) await step.replica.whenReady();
  }

  /** The event with the looked-up fields, or why it leaves the flow. */
  enrich(event: SluiceEvent): SluiceEvent | EnrichMiss {
    let enriched: SluiceEvent | null = null;
    for (const step of this.#steps) {
      const value = readPath(event, step.path);
      const key = lookupKeyText(value);
      const row = key === null ? undefined : step.replica.lookup(key);
      if (row === undefined) {
        const policy = step.plan.onMissing;
        this.#count(step.plan.table, policy);
        if (policy !== 'keep') {
          const reason =
            key === null
              ? `enrich ${step.plan.table}: field ${step.plan.on} is ${value === undefined ? 'missing' : `not a key (${JSON.stringify(value)})`}`
              : `enrich ${step.plan.table}: no row with key ${key} (field ${step.plan.on})`;
          return new EnrichMiss(step.plan.table, policy, reason);
        }
      }
      enriched ??= { ...event };
      for (const { field, column } of step.plan.fields) {
        const copied = row?.[column];
        enriched[field] = copied === undefined ? null : copied;
      }
    }
    return enriched ?? event;
  }

  /** Missing-row counts since the last call, as [table, policy, count]. */
  takeMissing(): Array<[table: string, policy: string, count: number]> {
    if (this.#missing.size === 0) return [];
    const out: Array<[string, string, number]> = [];
    for (const [label, count] of this.#missing) {
      const [table, policy] = label.split('\0');
      out.push([table, policy, count]);
    }
    this.#missing.clear();
    return out;
  }

  #count(table: string, policy: string): void {
    const label = `${table}\0${policy}`;
    this.#missing.set(label, (this.#missing.get(label) ?? 0) + 1);
  }
}

function readPath(event: SluiceEvent, path: readonly string[]): unknown {
  let value: unknown = event;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}
