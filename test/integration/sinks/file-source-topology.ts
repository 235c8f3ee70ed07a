/**
 * A small bounded input for sink integration tests that need no Kafka: a JSON-lines
 * file of events over a few users and windows, and a topology reading it into one
 * window that writes to the sink given as YAML.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TestEvent {
  user_id: string;
  ts: number;
  amount: number;
  page: string;
}

/** `count` events, `users` users, one event every 10 ms from 2026-01-01. */
export function testEvents(count: number, users: number): TestEvent[] {
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: count }, (_, index) => ({
    user_id: `u${index % users}`,
    ts: start + index * 10,
    amount: (index % 7) + 1,
    page: `/p${index % 5}`,
  }));
}

export async function writeEvents(dir: string, events: readonly TestEvent[]): Promise<void> {
  await writeFile(join(dir, 'events.jsonl'), events.map((event) => `${JSON.stringify(event)}\n`).join(''));
}

export function fileTopology(options: {
  name: string;
  aggregate: string;
  sink: string;
  deadLetter?: string;
}): string {
  return `name: ${options.name}
workers: 1
sources:
  events: { type: file, path: ./events.jsonl, key: user_id, time: { field: ts } }
windows:
  per_user:
    from: events
    window: { type: tumbling, size: 10s }
    groupBy: [user_id]
    aggregate: { ${options.aggregate} }
    to: [target]
sinks:
  target: ${options.sink}
  dlq: { type: file, path: ./out/dlq.jsonl }
deadLetter: ${options.deadLetter ?? 'dlq'}
`;
}
