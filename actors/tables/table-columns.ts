/**
 * The start-time check of lookup tables against the database: each table exists, its
 * `key` is its single-column primary key, and every column an enrich step copies
 * exists. Problems are reported as a `TopologyError` with the path (and line:column) of
 * the field, like schema problems. Enrich steps without `fields` get every column but
 * the key, so the plans carry explicit columns.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { TopologyError } from '../../runtime/errors.ts';
import { positionOf } from '../../runtime/topology/source-positions.ts';
import type { Topology } from '../../runtime/topology/topology-schema.ts';
import type { TableShape } from '../cdc/debezium-envelope.ts';
import { readTableShape } from '../cdc/pg-catalog.ts';

type Path = Array<string | number>;

/** The topology with every enrich step's `fields` filled in; throws a `TopologyError` on a bad table or column. */
export async function resolveTableColumns(topology: Topology): Promise<Topology> {
  if (Object.keys(topology.tables).length === 0) return topology;
  const file = await readTopologyFile(topology.sourceFile);
  const problems: Array<{ path: Path; expected: string; message: string }> = [];
  const shapes = new Map<string, TableShape>();
  for (const [name, table] of Object.entries(topology.tables)) {
    const source = topology.sources[table.from];
    if (source?.type !== 'cdc') continue;
    const client = new pg.Client({ connectionString: source.connection });
    try {
      await client.connect();
      const shape = await readTableShape(client, table.table);
      shapes.set(name, shape);
      const columns = shape.columns.map((column) => column.name);
      if (!columns.includes(table.key)) {
        problems.push({
          path: ['tables', name, 'key'],
          expected: `a column of ${table.table}`,
          message: `expected a column of ${table.table} (${columns.join(', ')}), got '${table.key}'`,
        });
      } else if (shape.keyColumns.length !== 1 || shape.keyColumns[0] !== table.key) {
        const actual =
          shape.keyColumns.length === 0 ? 'it has none' : `it is (${shape.keyColumns.join(', ')})`;
        problems.push({
          path: ['tables', name, 'key'],
          expected: `the single-column primary key of ${table.table}`,
          message: `expected the single-column primary key of ${table.table}, got '${table.key}'; ${actual}`,
        });
      }
    } catch (error) {
      problems.push({
        path: ['tables', name, 'table'],
        expected: 'a table the cdc source can read',
        message: `expected a table the cdc source can read, got '${table.table}': ${(error as Error).message}`,
      });
    } finally {
      await client.end().catch(() => {});
    }
  }

  const resolveSteps = (section: 'windows' | 'streams', name: string, steps: EnrichSteps): EnrichSteps =>
    steps?.map((step, index) => {
      const shape = shapes.get(step.table);
      if (shape === undefined) return step;
      const key = topology.tables[step.table].key;
      const columns = shape.columns.map((column) => column.name);
      if (step.fields === undefined) {
        return {
          ...step,
          fields: columns.filter((column) => column !== key).map((column) => ({ field: column, column })),
        };
      }
      step.fields.forEach(({ field, column }, position) => {
        if (columns.includes(column)) return;
        const listed = !isMap(file?.raw, [section, name, 'enrich', index, 'fields']);
        problems.push({
          path: [section, name, 'enrich', index, 'fields', listed ? position : field],
          expected: `a column of ${shape.schema}.${shape.table}`,
          message: `expected a column of ${shape.schema}.${shape.table} (${columns.join(', ')}), got '${column}'`,
        });
      });
      return step;
    });

  const windows = Object.fromEntries(
    Object.entries(topology.windows).map(([name, window]) => [
      name,
      window.enrich === undefined
        ? window
        : { ...window, enrich: resolveSteps('windows', name, window.enrich) },
    ]),
  );
  const streams = Object.fromEntries(
    Object.entries(topology.streams).map(([name, stream]) => [
      name,
      stream.enrich === undefined
        ? stream
        : { ...stream, enrich: resolveSteps('streams', name, stream.enrich) },
    ]),
  );
  if (problems.length > 0) {
    throw new TopologyError(
      topology.sourceFile,
      problems.map((problem) => ({
        path: problem.path.join('.'),
        expected: problem.expected,
        message: problem.message,
        ...(file === null ? {} : positionOf(file.document, file.lineCounter, problem.path)),
      })),
    );
  }
  return { ...topology, windows, streams } as Topology;
}

type EnrichSteps = Topology['windows'][string]['enrich'];

/** The topology file as parsed YAML, to locate problems (null if it cannot be read again). */
async function readTopologyFile(
  path: string,
): Promise<{ document: Document; lineCounter: LineCounter; raw: unknown } | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return { document, lineCounter, raw: document.toJS() };
}

/** Whether the value at `path` is a map (a `fields` map is reported by field name, a list by index). */
function isMap(raw: unknown, path: Path): boolean {
  let value = raw;
  for (const step of path) {
    if (typeof value !== 'object' || value === null) return false;
    value = (value as Record<string | number, unknown>)[step];
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
