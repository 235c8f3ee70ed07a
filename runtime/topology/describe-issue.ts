import type { z } from 'zod';

/**
 * Turns a zod issue into the words of a topology problem: what was expected and
 * what the file held. Schemas carry their own `error` texts (what is expected, in
 * user terms); zod's generic messages are rephrased from the issue's fields.
 */

export interface IssueWording {
  expected: string;
  message: string;
}

const GENERIC_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized|Expected)/;

export function describeIssue(issue: z.core.$ZodIssue, actual: unknown, present: boolean): IssueWording {
  if (issue.code === 'custom' && issue.message.startsWith('expected ')) {
    return {
      expected: issue.message.slice('expected '.length).replace(/, got .*$/, ''),
      message: issue.message,
    };
  }
  const expected = GENERIC_MESSAGE.test(issue.message) ? expectedFromFields(issue) : issue.message;
  if (!present) return { expected, message: `missing; expected ${expected}` };
  return { expected, message: `expected ${expected}, got ${describeValue(actual)}` };
}

function expectedFromFields(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return article(issue.expected);
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      return `${issue.origin === 'array' ? 'a list of length' : 'a value'} ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return `${issue.origin === 'array' ? 'a list of length' : 'a value'} ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_format':
      return `a string matching ${issue.pattern ?? issue.format}`;
    case 'invalid_key':
      return 'a valid name';
    default:
      return issue.message;
  }
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object' || type === 'record' || type === 'map') return 'a map of fields';
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Short human text for a value found in the file. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty map' : 'a map of fields';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
