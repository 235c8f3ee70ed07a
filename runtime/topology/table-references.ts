/**
 * Cross-field checks of lookup tables and enrich steps, on the raw file contents (like
 * `cross-references.ts`; the loader runs both): a table reads a cdc source and one of its
 * tables; an enrich step names a table. Key and columns are checked against the
 * database at start (`actors/tables/table-columns.ts`), since only it knows them.
 */
import type { ReferenceProblem } from './cross-references.ts';
import { qualifiedTable } from './table-schema.ts';

export function checkTableReferences(raw: unknown): ReferenceProblem[] {
  if (!isRecord(raw)) return [];
  const problems: ReferenceProblem[] = [];
  const sources = isRecord(raw.sources) ? raw.sources : {};
  const tables = isRecord(raw.tables) ? raw.tables : {};
  const tableNames = Object.keys(tables);

  for (const [name, table] of Object.entries(tables)) {
    if (!isRecord(table) || typeof table.from !== 'string') continue;
    const source = sources[table.from];
    if (!isRecord(source)) {
      const cdc = Object.entries(sources)
        .filter(([, spec]) => isRecord(spec) && spec.type === 'cdc')
        .map(([sourceName]) => sourceName);
      problems.push({
        path: ['tables', name, 'from'],
        expected: 'the name of a cdc source',
        message: `expected the name of a cdc source, got '${table.from}'; ${cdc.length === 0 ? 'there are no cdc sources' : `cdc sources are ${cdc.join(', ')}`}`,
      });
      continue;
    }
    if (source.type !== 'cdc') {
      problems.push({
        path: ['tables', name, 'from'],
        expected: 'the name of a cdc source',
        message: `expected the name of a cdc source, got '${table.from}', a ${String(source.type)} source`,
      });
      continue;
    }
    const captured = Array.isArray(source.tables)
      ? source.tables.filter((entry) => typeof entry === 'string').map(qualifiedTable)
      : null;
    if (
      captured !== null &&
      typeof table.table === 'string' &&
      !captured.includes(qualifiedTable(table.table))
    ) {
      problems.push({
        path: ['tables', name, 'table'],
        expected: `one of the tables of source ${table.from}`,
        message: `expected one of the tables of source ${table.from} (${captured.join(', ')}), got '${table.table}'`,
      });
    }
  }

  for (const section of ['windows', 'streams'] as const) {
    const entries = isRecord(raw[section]) ? raw[section] : {};
    for (const [name, entry] of Object.entries(entries)) {
      if (!isRecord(entry) || !Array.isArray(entry.enrich)) continue;
      for (const [index, step] of entry.enrich.entries()) {
        if (!isRecord(step) || typeof step.table !== 'string' || tableNames.includes(step.table)) continue;
        problems.push({
          path: [section, name, 'enrich', index, 'table'],
          expected: 'the name of a table',
          message: `expected the name of a table, got '${step.table}'; ${tableNames.length === 0 ? 'there are no tables (declare them under tables:)' : `tables are ${tableNames.join(', ')}`}`,
        });
      }
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
