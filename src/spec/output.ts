/** Step output checks: the JSON Schema air-lock and the reserved `_rationale`/`_flags`/`_confidence` fields. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AgentryError } from '../lib/errors.js';
import type { JsonSchema } from './model.js';
import type { StepMeta } from '../types.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

export function formatSchemaErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

/** Throws `error` (with the validation messages in details) when `value` does not match `schema`. */
export function assertMatches(schema: JsonSchema, value: unknown, code: 'output_invalid' | 'input_invalid' | 'invalid_request', what: string): void {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(value)) {
    const errors = formatSchemaErrors(validate.errors);
    throw new AgentryError(code, `${what} does not match its schema: ${errors.join('; ')}`, { details: { errors } });
  }
}

const RESERVED = ['_rationale', '_flags', '_confidence'] as const;

/** Splits reserved fields off an object output; other outputs pass through untouched. */
export function splitReserved(output: unknown): { output: unknown; meta: StepMeta | undefined } {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return { output, meta: undefined };
  const record = output as Record<string, unknown>;
  if (!RESERVED.some((key) => key in record)) return { output, meta: undefined };
  const { _rationale, _flags, _confidence, ...rest } = record;
  const meta: StepMeta = {};
  if (typeof _rationale === 'string') meta.rationale = _rationale;
  if (Array.isArray(_flags)) meta.flags = _flags.filter((f): f is string => typeof f === 'string');
  if (typeof _confidence === 'number' && _confidence >= 0 && _confidence <= 1) meta.confidence = _confidence;
  return { output: rest, meta };
}
