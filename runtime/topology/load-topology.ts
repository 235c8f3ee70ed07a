import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { TopologyError, TopologyFileUnreadableError, type TopologyProblem } from '../errors.ts';
import { checkCrossReferences } from './cross-references.ts';
import { describeIssue } from './describe-issue.ts';
import { knownFieldsAt } from './known-fields.ts';
import { checkKafkaTransactionTimeouts } from './sinks/kafka-transaction-timeout.ts';
import { positionOf } from './source-positions.ts';
import { checkTableReferences } from './table-references.ts';
import { type Topology, topologySchema } from './topology-schema.ts';

/**
 * Reads a topology file into a `Topology`, or throws a `TopologyError` listing every
 * problem with its field path and line:column. Schema problems and reference
 * problems are collected in one pass so a user fixes the file in one go.
 */
export async function loadTopology(path: string): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TopologyFileUnreadableError(path, error);
  }
  return parseTopology(text, path);
}

/** Parses topology `text`; `fileName` names it in problems and anchors relative paths. */
export function parseTopology(text: string, fileName: string): Topology {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new TopologyError(
      fileName,
      document.errors.map((error) => ({
        path: '(yaml)',
        expected: 'valid YAML',
        message: `expected valid YAML: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
    );
  }
  const raw: unknown = unquotedNullSinks(document.toJS({ maxAliasCount: 100 }));
  const parsed = topologySchema.safeParse(raw, { reportInput: true });
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.flatMap((issue) => schemaProblems(issue, raw, document, lineCounter))),
    ...[
      ...checkCrossReferences(raw),
      ...checkTableReferences(raw),
      ...checkKafkaTransactionTimeouts(raw),
    ].map((problem) => ({
      path: dotted(problem.path),
      expected: problem.expected,
      message: problem.message,
      ...positionOf(document, lineCounter, problem.path),
    })),
  ];
  if (!parsed.success || problems.length > 0) throw new TopologyError(fileName, sortByPosition(problems));
  const sourceFile = resolve(fileName);
  const baseDir = dirname(sourceFile);
  const { state, ...rest } = parsed.data;
  const stateDir = resolve(baseDir, state.dir ?? join('.sluice', rest.name));
  return resolveRelativePaths({ ...rest, state: { ...state, dir: stateDir }, sourceFile }, baseDir);
}

function schemaProblems(
  issue: z.core.$ZodIssue,
  raw: unknown,
  document: Document,
  lineCounter: LineCounter,
): TopologyProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownFieldsAt(topologySchema, raw, issue.path);
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const expected = known.length > 0 ? `one of the fields ${known.join(', ')}` : 'no such field';
      return {
        path: dotted(path),
        expected,
        message: `unknown field '${key}'; expected ${expected}`,
        ...positionOf(document, lineCounter, path, 'key'),
      };
    });
  }
  const { present, value } = valueAt(raw, issue.path);
  const wording = describeIssue(issue, value, present);
  return [{ path: dotted(issue.path), ...wording, ...positionOf(document, lineCounter, issue.path) }];
}

/**
 * YAML reads an unquoted `type: null` as the null value, yet that is the natural way
 * to write the null sink; accept it rather than make users quote a keyword.
 */
function unquotedNullSinks(raw: unknown): unknown {
  const sinks = (raw as { sinks?: unknown } | null)?.sinks;
  if (typeof sinks !== 'object' || sinks === null) return raw;
  for (const sink of Object.values(sinks)) {
    if (typeof sink === 'object' && sink !== null && Object.hasOwn(sink, 'type') && sink.type === null) {
      sink.type = 'null';
    }
  }
  return raw;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let value = raw;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return { present: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return { present: true, value };
}

function dotted(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(topology)' : path.map(String).join('.');
}

function sortByPosition(problems: TopologyProblem[]): TopologyProblem[] {
  const at = (problem: TopologyProblem) =>
    (problem.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (problem.column ?? 0);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => at(a.problem) - at(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}

/** File paths in a topology are relative to the topology file, not to the working directory. */
function resolveRelativePaths(topology: Topology, baseDir: string): Topology {
  const absolute = (path: string) => resolve(baseDir, path);
  const mapValues = <T>(entries: Record<string, T>, change: (value: T) => T) =>
    Object.fromEntries(Object.entries(entries).map(([name, value]) => [name, change(value)]));
  const withTransform = <T extends { transform?: string }>(entry: T): T =>
    entry.transform === undefined ? entry : { ...entry, transform: absolute(entry.transform) };
  return {
    ...topology,
    sources: mapValues(topology.sources, (source) => {
      if (source.type === 'file') return { ...source, path: absolute(source.path) };
      if (source.type !== 'gateway') return source;
      const tokens = source.auth?.tokens;
      const auth = tokens?.startsWith('file:')
        ? { tokens: `file:${absolute(tokens.slice(5))}` }
        : source.auth;
      return { ...source, auth, log: { ...source.log, dir: absolute(source.log.dir) } };
    }),
    windows: mapValues(topology.windows, withTransform),
    streams: mapValues(topology.streams, withTransform),
    sinks: mapValues(topology.sinks, (sink) =>
      sink.type === 'file' ? { ...sink, path: absolute(sink.path) } : sink,
    ),
  };
}
