/**
 * A form generated from a JSON Schema (a task's `form_schema`): objects (nested as fieldsets),
 * strings (with enums as selects, formats, lengths, patterns), numbers and integers with bounds,
 * booleans, arrays of simple values (one per line); required fields marked. Values are checked
 * here first (the same rules the server applies), and the server's answer is final.
 */
import type { ReactNode } from 'react';

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

function typeOf(schema: Schema): string {
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

/** A field's value as an input shows it. */
function scalar(value: Value): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

const idOf = (path: string) => `field-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export function SchemaFields(props: {
  schema: Schema;
  value: Value;
  onChange: (v: Value) => void;
  problems: Record<string, string>;
  path?: string;
  label?: string;
  required?: boolean;
}) {
  const { schema, value, onChange, problems, path = '' } = props;
  const type = typeOf(schema);
  const label = schema.title ?? props.label ?? path;
  if (type === 'object') {
    const obj = (value ?? {}) as Record<string, Value>;
    const fields = Object.entries(schema.properties ?? {}).map(([key, sub]) => (
      <SchemaFields
        key={key}
        schema={sub}
        value={obj[key]}
        onChange={(v) => onChange({ ...obj, [key]: v })}
        problems={problems}
        path={path ? `${path}.${key}` : key}
        label={key}
        required={schema.required?.includes(key) ?? false}
      />
    ));
    if (path === '') return <>{fields}</>;
    return (
      <fieldset>
        <legend>{label}</legend>
        {schema.description && <p className="hint">{schema.description}</p>}
        {fields}
      </fieldset>
    );
  }
  const id = idOf(path);
  const problem = problems[path];
  const described = [schema.description ? `${id}-hint` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, 'aria-invalid': problem ? true : undefined, 'aria-describedby': described, required: props.required };
  let control: ReactNode;
  if (schema.enum) {
    control = (
      <select
        {...common}
        value={scalar(value)}
        onChange={(e) => onChange(e.target.value === '' ? undefined : schema.enum!.find((x) => String(x) === e.target.value))}
      >
        <option value="">—</option>
        {schema.enum.map((x) => (
          <option key={String(x)} value={String(x)}>
            {String(x)}
          </option>
        ))}
      </select>
    );
  } else if (type === 'boolean') {
    control = <input {...common} required={false} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  } else if (type === 'number' || type === 'integer') {
    control = (
      <input
        {...common}
        type="number"
        step={type === 'integer' ? 1 : 'any'}
        min={schema.minimum}
        max={schema.maximum}
        value={scalar(value)}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      />
    );
  } else if (type === 'array') {
    control = (
      <textarea
        {...common}
        rows={3}
        value={Array.isArray(value) ? value.join('\n') : ''}
        onChange={(e) => {
          const lines = e.target.value.split('\n').filter((l) => l !== '');
          onChange(typeOf(schema.items ?? {}) === 'number' || typeOf(schema.items ?? {}) === 'integer' ? lines.map(Number) : lines);
        }}
      />
    );
  } else if ((schema.maxLength ?? 0) > 200 || schema.format === 'textarea') {
    control = <textarea {...common} rows={4} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />;
  } else {
    const inputType = schema.format === 'email' ? 'email' : schema.format === 'date' ? 'date' : schema.format === 'uri' ? 'url' : 'text';
    control = <input {...common} type={inputType} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className={`field${problem ? ' invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {props.required && <span aria-hidden="true"> *</span>}
        {props.required && <span className="visually-hidden"> (required)</span>}
      </label>
      {control}
      {schema.description && (
        <p className="hint" id={`${id}-hint`}>
          {schema.description}
        </p>
      )}
      {problem && (
        <p className="field-error" id={`${id}-error`}>
          {problem}
        </p>
      )}
    </div>
  );
}
