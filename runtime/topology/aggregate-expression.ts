/**
 * The aggregate expressions of a window (`count()`, `sum(amount)`, …), parsed once
 * at load time into plain objects the window operator switches on.
 */

/** Aggregate functions a window can compute. */
export const AGGREGATE_FUNCTIONS = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'count_distinct',
  'first',
  'last',
] as const;

export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** One output column of a window: `name` is the output field, `field` the input field read. */
export interface Aggregate {
  name: string;
  fn: AggregateFunction;
  /** Dotted path of the input field; absent for `count()`. */
  field?: string;
}

/** A field name, or a dotted path into nested objects (`user.id`). */
export const FIELD_PATH_PATTERN = /^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/;

export const AGGREGATE_EXPECTED = `one of count(), ${AGGREGATE_FUNCTIONS.filter((fn) => fn !== 'count')
  .map((fn) => `${fn}(field)`)
  .join(', ')}`;

const CALL_PATTERN = /^\s*([a-z_]+)\s*\(\s*([^()]*?)\s*\)\s*$/;

/**
 * Parses `expression` into an aggregate named `name`; returns a reason string when
 * the text is not a known function applied to the right number of fields. Reasons
 * start with "expected", as every topology problem message does.
 */
export function parseAggregate(name: string, expression: string): Aggregate | { error: string } {
  const match = CALL_PATTERN.exec(expression);
  if (!match) return { error: `expected ${AGGREGATE_EXPECTED}, got '${expression}'` };
  const fn = match[1] as AggregateFunction;
  const argument = match[2];
  if (!AGGREGATE_FUNCTIONS.includes(fn)) {
    return { error: `expected ${AGGREGATE_EXPECTED}, got unknown function '${match[1]}'` };
  }
  if (fn === 'count') {
    return argument === ''
      ? { name, fn }
      : { error: `expected count() without a field, got 'count(${argument})'` };
  }
  if (argument === '') return { error: `expected a field inside ${fn}(), as in ${fn}(amount)` };
  if (!FIELD_PATH_PATTERN.test(argument)) {
    return { error: `expected a field name or dotted field path inside ${fn}(), got '${argument}'` };
  }
  return { name, fn, field: argument };
}
