/**
 * The shape of the rows a sink receives — key fields and aggregates — found in the
 * topology, for sinks whose target has a schema (ClickHouse and BigQuery tables, Kafka
 * record keys). Pure: it reads the loaded topology only.
 */
import type { Topology } from '../../runtime/topology/topology-schema.ts';
import { sinkError } from './batching-errors.ts';
import type { RowShape } from './clickhouse-table.ts';

export type { RowShape } from './clickhouse-table.ts';

/** The one row shape of the windows whose `to` names `sink`, or null when no window writes there. */
export function windowRowShape(sink: string, topology: Pick<Topology, 'windows'>): RowShape | null {
  const shapes = Object.entries(topology.windows)
    .filter(([, window]) => window.to.includes(sink))
    .map(([name, window]) => ({ name, shape: { groupBy: window.groupBy, aggregates: window.aggregate } }));
  const first = shapes[0];
  if (first === undefined) return null;
  const signature = (shape: RowShape) => JSON.stringify([shape.groupBy, shape.aggregates]);
  const other = shapes.find((entry) => signature(entry.shape) !== signature(first.shape));
  if (other !== undefined) {
    throw sinkError('SLUICE_ERR_SINK_CONFIG', [
      sink,
      `windows ${first.name} and ${other.name} write rows of different shapes (groupBy or aggregates) to one table; give each its own sink`,
    ]);
  }
  return first.shape;
}

/** Like `windowRowShape`, for sinks that accept window rows only (a table of window results). */
export function requireWindowRowShape(sink: string, topology: Topology): RowShape {
  const writers = [
    ...Object.entries(topology.streams)
      .filter(([, stream]) => stream.to.includes(sink))
      .map(([name]) => `stream ${name}`),
    ...Object.entries(topology.windows)
      .filter(([, window]) => window.late === sink)
      .map(([name]) => `late output of window ${name}`),
    ...(topology.deadLetter === sink ? ['deadLetter'] : []),
  ];
  if (writers.length > 0) {
    throw sinkError('SLUICE_ERR_SINK_CONFIG', [
      sink,
      `takes window rows only, but ${writers.join(', ')} writes to it; use a file or kafka sink there`,
    ]);
  }
  const shape = windowRowShape(sink, topology);
  if (shape === null)
    throw sinkError('SLUICE_ERR_SINK_CONFIG', [sink, 'no window writes to it (`to` of a window)']);
  return shape;
}
