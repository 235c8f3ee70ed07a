import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

/**
 * Finds where a field path (`windows.per_user.window.size`) sits in a parsed YAML
 * document, so problems found on the plain JS value can point back into the file.
 */

export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Position of the value at `path`, or of the key when `at` is `'key'` (unknown
 * fields) or the value is empty. A path that leaves the document (a missing
 * field) resolves to the deepest node that exists, i.e. where to add it.
 */
export function positionOf(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  at: 'value' | 'key' = 'value',
): SourcePosition | undefined {
  let node: Node | null = document.contents;
  let keyNode: Node | null = null;
  for (const segment of path) {
    const step = childOf(node, segment);
    if (!step) break;
    node = step.value;
    keyNode = step.key;
  }
  const target = at === 'key' ? (keyNode ?? node) : (node ?? keyNode);
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function childOf(
  node: Node | null,
  segment: PropertyKey,
): { key: Node | null; value: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key as Node | null;
      const name = isScalar(key) ? key.value : key;
      if (String(name) === String(segment)) return { key, value: pair.value as Node | null };
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment] as Node | undefined;
    return item === undefined ? undefined : { key: null, value: item };
  }
  return undefined;
}
