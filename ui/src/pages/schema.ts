/**
 * JSON Schema for the task forms (`schema-form.tsx`): a schema's type, the form's starting value,
 * the problems of a value (the rules the server applies: required, enums, bounds, lengths,
 * patterns), and the value as submitted. No DOM: unit-tested (test/unit/console.forms.test.ts).
 */
export interface Schema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: Schema;
  default?: unknown;
}

type Value = unknown;

export function typeOf(schema: Schema): string {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (t) return t;
  if (schema.properties) return 'object';
  if (schema.enum) return typeof schema.enum[0] === 'number' ? 'number' : 'string';
  return 'string';
}

/** The form's starting value: defaults where the schema has them. */
export function initialValue(schema: Schema): Value {
  if (schema.default !== undefined) return schema.default;
  if (typeOf(schema) === 'object') return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, initialValue(s)]));
  if (typeOf(schema) === 'boolean') return false;
  return undefined;
}

/** Problems of `value` against `schema`, keyed by field path (`a.b`); empty when valid. */
export function check(schema: Schema, value: Value, path = '', problems: Record<string, string> = {}): Record<string, string> {
  const type = typeOf(schema);
  const empty = value === undefined || value === '' || value === null;
  if (type === 'object') {
    const obj = (value ?? {}) as Record<string, Value>;
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      const v = obj[key];
      if ((v === undefined || v === '' || v === null) && typeOf(sub) !== 'object') {
        if (schema.required?.includes(key)) problems[p] = 'Required.';
        continue;
      }
      check(sub, v, p, problems);
    }
    return problems;
  }
  if (empty) return problems;
  if (schema.enum && !schema.enum.some((e) => e === value)) problems[path] = `Choose one of: ${schema.enum.join(', ')}.`;
  if (type === 'number' || type === 'integer') {
    const n = value as number;
    if (typeof n !== 'number' || Number.isNaN(n)) problems[path] = 'Enter a number.';
    else if (type === 'integer' && !Number.isInteger(n)) problems[path] = 'Enter a whole number.';
    else if (schema.minimum !== undefined && n < schema.minimum) problems[path] = `At least ${schema.minimum}.`;
    else if (schema.maximum !== undefined && n > schema.maximum) problems[path] = `At most ${schema.maximum}.`;
    else if (schema.exclusiveMinimum !== undefined && n <= schema.exclusiveMinimum) problems[path] = `More than ${schema.exclusiveMinimum}.`;
    else if (schema.exclusiveMaximum !== undefined && n >= schema.exclusiveMaximum) problems[path] = `Less than ${schema.exclusiveMaximum}.`;
  }
  if (type === 'string' && typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) problems[path] = `At least ${schema.minLength} characters.`;
    else if (schema.maxLength !== undefined && value.length > schema.maxLength) problems[path] = `At most ${schema.maxLength} characters.`;
    else if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) problems[path] = `Must match ${schema.pattern}.`;
  }
  return problems;
}

/** Drops empty optional fields, so the submitted data is what the user filled in. */
export function prune(value: Value): Value {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = prune(v);
    if (p !== undefined && p !== '') out[k] = p;
  }
  return out;
}
