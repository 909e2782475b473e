/**
 * A form generated from a JSON Schema (a task's `form_schema`): objects (nested as fieldsets),
 * strings (with enums as selects, formats, lengths, patterns), numbers and integers with bounds,
 * booleans, arrays of simple values (one per line); required fields marked. Values are checked
 * here first (the same rules the server applies), and the server's answer is final.
 */
import type { ReactNode } from 'react';
import { typeOf, type Schema } from './schema.ts';

/** A field's value as an input shows it. */
function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

const idOf = (path: string) => `field-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export function SchemaFields(props: {
  schema: Schema;
  value: unknown;
  onChange: (v: unknown) => void;
  problems: Record<string, string>;
  path?: string;
  label?: string;
  required?: boolean;
}) {
  const { schema, value, onChange, problems, path = '' } = props;
  const type = typeOf(schema);
  const label = schema.title ?? props.label ?? path;
  if (type === 'object') {
    const obj = (value ?? {}) as Record<string, unknown>;
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
