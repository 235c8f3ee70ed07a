import type { z } from 'zod';

/**
 * Field names a strict object of the schema accepts at a given path, so that an
 * unknown-field problem can list the right ones (and a typo is easy to spot).
 * Walks the schema alongside the input: unions pick their option by discriminator.
 */
export function knownFieldsAt(schema: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  let value = input;
  for (const segment of path) {
    current = unwrap(current, value);
    current = current === undefined ? undefined : childSchema(current, segment);
    value = isObject(value) ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  current = unwrap(current, value);
  const def = current?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Strips wrappers (optional, default, pipes, refinements) and picks the union option matching `value`. */
function unwrap(schema: z.core.$ZodType | undefined, value: unknown): z.core.$ZodType | undefined {
  let current = schema;
  for (let depth = 0; current !== undefined && depth < 32; depth += 1) {
    const def = current._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'pipe') current = def.in as z.core.$ZodType;
    else if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) {
      current = def.innerType as z.core.$ZodType;
    } else if (def.type === 'union') {
      current = pickOption(def.options as z.core.$ZodType[], def.discriminator as string | undefined, value);
    } else return current;
  }
  return current;
}

function pickOption(
  options: z.core.$ZodType[],
  discriminator: string | undefined,
  value: unknown,
): z.core.$ZodType | undefined {
  if (discriminator === undefined || !isObject(value)) return undefined;
  const wanted = (value as Record<string, unknown>)[discriminator];
  return options.find((option) => {
    const def = unwrap(option, value)?._zod.def as { shape?: Record<string, z.core.$ZodType> } | undefined;
    const shape = def?.shape;
    const literal = shape?.[discriminator]?._zod.def as { values?: unknown[] } | undefined;
    return literal?.values?.includes(wanted) ?? false;
  });
}

function childSchema(schema: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType | undefined {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  if (def.type === 'object') return (def.shape as Record<PropertyKey, z.core.$ZodType>)[segment];
  if (def.type === 'record') return def.valueType as z.core.$ZodType;
  if (def.type === 'array') return def.element as z.core.$ZodType;
  return undefined;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
