import type { AccumulatorTable } from './aggregates.ts';
import type { OutputRow } from './types.ts';

/** Builds one output row from a key tuple and a slot of aggregate state. */
export type RowFactory = (
  start: number,
  end: number,
  key: readonly unknown[],
  table: AccumulatorTable,
  slot: number,
  version: number,
) => OutputRow;

/**
 * Compiles a row builder for one config: a single object literal whose fields are, in
 * order, window_start, window_end, the groupBy fields, the aggregates and version.
 * Firing a window emits one row per key (100K rows at once is normal), and a literal
 * of fixed shape is several times cheaper to build than an object grown field by
 * field with computed names. Names enter the source only as JSON string literals,
 * and the config check refuses `__proto__`, so no name can change the code's meaning.
 */
export function createRowFactory(groupBy: readonly string[], aggregateNames: readonly string[]): RowFactory {
  const fields = [
    'window_start: start',
    'window_end: end',
    ...groupBy.map((field, index) => `${JSON.stringify(field)}: key[${index}]`),
    ...aggregateNames.map((name, index) => `${JSON.stringify(name)}: table.result(${index}, slot)`),
    'version: version',
  ];
  return new Function(
    'start',
    'end',
    'key',
    'table',
    'slot',
    'version',
    `return { ${fields.join(', ')} };`,
  ) as RowFactory;
}
