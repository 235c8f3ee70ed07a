/**
 * Checks that need more than one field at a time: every `from` names a source,
 * every `to`, `late` and `deadLetter` names a sink, and there is something to run (a
 * window, a stream, or a source that publishes).
 * Works on the raw file contents (not the schema output), so these problems are
 * reported together with schema problems elsewhere in the file.
 */

/** A reference problem: the path of the field and the one-line reason. */
export interface ReferenceProblem {
  path: (string | number)[];
  expected: string;
  message: string;
}

export function checkCrossReferences(raw: unknown): ReferenceProblem[] {
  if (!isRecord(raw)) return [];
  const sources = isRecord(raw.sources) ? Object.keys(raw.sources) : undefined;
  const sinks = isRecord(raw.sinks) ? Object.keys(raw.sinks) : undefined;
  const windows = isRecord(raw.windows) ? raw.windows : {};
  const streams = isRecord(raw.streams) ? raw.streams : {};
  const problems: ReferenceProblem[] = [];

  const expectName = (
    path: (string | number)[],
    value: unknown,
    names: string[] | undefined,
    kind: string,
  ) => {
    if (names === undefined || typeof value !== 'string' || names.includes(value)) return;
    const known = names.length === 0 ? `there are no ${kind}s` : `${kind}s are ${names.join(', ')}`;
    problems.push({
      path,
      expected: `the name of a ${kind}`,
      message: `expected the name of a ${kind}, got '${value}'; ${known}`,
    });
  };

  for (const [section, entries] of [
    ['windows', windows],
    ['streams', streams],
  ] as const) {
    for (const [name, entry] of Object.entries(entries)) {
      if (!isRecord(entry)) continue;
      expectName([section, name, 'from'], entry.from, sources, 'source');
      if (Array.isArray(entry.to)) {
        for (const [index, sink] of entry.to.entries())
          expectName([section, name, 'to', index], sink, sinks, 'sink');
      }
      if (section === 'windows') expectName([section, name, 'late'], entry.late, sinks, 'sink');
    }
  }
  expectName(['deadLetter'], raw.deadLetter, sinks, 'sink');

  for (const name of Object.keys(streams)) {
    if (Object.hasOwn(windows, name)) {
      problems.push({
        path: ['streams', name],
        expected: 'a name not used by a window',
        message: `expected a name not used by a window, got '${name}', which is also a window`,
      });
    }
  }
  // A CDC source that publishes to Kafka runs on its own: its topics are its output.
  const publishing =
    isRecord(raw.sources) &&
    Object.values(raw.sources).some((source) => isRecord(source) && source.publish !== undefined);
  if (
    Object.keys(windows).length === 0 &&
    Object.keys(streams).length === 0 &&
    sources &&
    sinks &&
    !publishing
  ) {
    problems.push({
      path: ['windows'],
      expected: 'at least one window or stream',
      message: 'expected at least one window or stream; without one nothing reaches a sink',
    });
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
