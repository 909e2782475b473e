/**
 * Schema validation of spec objects (ajv) with ajv's errors reduced to one readable message
 * per problem, and the check that a user-written JSON Schema is itself valid.
 */
import { Ajv, type CodeOptions, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { precompiledValidator } from '../lib/precompiled.js';
import { didYouMean, type PathSegment, type Problem } from './diagnostics.js';
import { SPEC_SCHEMAS, type SpecKind } from './schemas.js';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * The spec schemas are this package's own, checked against the JSON Schema meta-schema by
 * `test/unit/spec.schemas.test.ts`: not again at each start (`validateSchema: false`, which
 * would compile the meta-schema first). Compiled without ajv's code optimizer, which only makes
 * the generated code smaller: a third of the compile time, and these validate a few files.
 * The bundle holds them compiled at build time (`lib/precompiled.ts`), with these options.
 */
export function newSpecAjv(code: CodeOptions = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, validateSchema: false, code: { optimize: false, ...code } });
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
  return ajv;
}
const specAjv = newSpecAjv();
const validators = new Map<SpecKind, ValidateFunction>();

/** The ajv of user-written schemas (with `validateSchema: false`: for schemas whose meta-schema check passed). */
export function newUserAjv(code: CodeOptions = {}, validateSchema = true): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema, code });
  addFormats(ajv);
  return ajv;
}
const userAjv = newUserAjv();
/**
 * Compiles a schema `metaSchemaCheck` accepted, without checking it against the meta-schema again,
 * to find what only compiling finds (a `$ref` that resolves nowhere, a bad `pattern`). The function
 * it makes is thrown away, so without ajv's code optimizer (a third of the compile time, at every start).
 */
const checkedAjv = newUserAjv({ optimize: false }, false);
/** The meta-schema of a user-written schema without `$schema` (ajv's default). */
export const JSON_SCHEMA_META = 'http://json-schema.org/draft-07/schema';

/** `userAjv.validateSchema`: through the validator compiled at build time when the schema names no other meta-schema. */
function metaSchemaCheck(schema: unknown): { ok: boolean; errors: ErrorObject[] | null | undefined } {
  const plain = typeof schema === 'object' && schema !== null && (schema as { $schema?: unknown }).$schema === undefined;
  const precompiled = plain ? precompiledValidator('json-schema') : undefined;
  if (precompiled !== undefined) return { ok: precompiled(schema) === true, errors: precompiled.errors };
  return { ok: userAjv.validateSchema(schema as object) === true, errors: userAjv.errors };
}

/** Every schema problem in `data` as a `kind` spec (empty when valid). */
export function validateSpec(kind: SpecKind, data: unknown): Problem[] {
  let validate = validators.get(kind);
  if (validate === undefined) {
    validate = precompiledValidator(`spec:${kind}`) ?? specAjv.compile(SPEC_SCHEMAS[kind]);
    validators.set(kind, validate);
  }
  if (validate(data)) return [];
  return reduceErrors(validate.errors ?? [], data);
}

/** Problems with a user-written JSON Schema found at `path` (empty when it compiles). */
export function checkJsonSchema(schema: unknown, path: PathSegment[]): Problem[] {
  const check = metaSchemaCheck(schema);
  if (!check.ok) {
    const first = check.errors?.[0];
    if (first === undefined) return [{ path, message: 'is not a valid JSON Schema' }];
    return [{ path: [...path, ...pointerToPath(first.instancePath, schema)], message: `invalid JSON Schema: ${first.message ?? first.keyword}` }];
  }
  try {
    checkedAjv.compile(schema as object);
    checkedAjv.removeSchema(schema as object);
    return [];
  } catch (error) {
    return [{ path, message: `invalid JSON Schema: ${error instanceof Error ? error.message : String(error)}` }];
  }
}

/**
 * The errors of `value` against a user-written schema, compiled for this one check and let go
 * after; none when the schema does not compile (it is reported where it is declared).
 */
function schemaErrors(ajv: Ajv, schema: object, value: unknown): ErrorObject[] {
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch {
    return [];
  }
  const ok = validate(value);
  ajv.removeSchema(schema);
  return ok ? [] : (validate.errors ?? []);
}

/** Problems of `value` against a user-written JSON Schema (which `checkJsonSchema` accepted). */
export function checkValue(schema: object, value: unknown, path: PathSegment[], what: string): Problem[] {
  const errors = schemaErrors(userAjv, schema, value);
  if (errors.length === 0) return [];
  const messages = errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  return [{ path, message: `${what} does not match the input schema: ${messages.join('; ')}` }];
}

/** Compiles user-written schemas with the failing schema node at hand (`verbose`), for field-by-field problems. */
const fieldAjv = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  addFormats(ajv);
  return ajv;
})();

/**
 * Each problem of `value` against a user-written JSON Schema, at its own path below `path`
 * (`unknown field 'x'`, `missing required field 'y'`), so a diagnostic points at the line.
 * Values still holding a `{{ }}` template are checked once rendered, not here.
 */
export function valueProblems(schema: object, value: unknown, path: PathSegment[]): Problem[] {
  const errors = schemaErrors(fieldAjv, schema, value).filter((e) => !templated(valueAt(value, e.instancePath)));
  return reduceErrors(errors, value).map((p) => ({ ...p, path: [...path, ...p.path] }));
}

function valueAt(data: unknown, pointer: string): unknown {
  let node = data;
  for (const segment of pointerToPath(pointer, data)) {
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[segment] : undefined;
  }
  return node;
}

function templated(value: unknown): boolean {
  return typeof value === 'string' && value.includes('{{');
}

interface Reduced {
  error: ErrorObject;
  message: string;
  path: PathSegment[];
  atKey: boolean;
}

function reduceErrors(errors: ErrorObject[], data: unknown): Problem[] {
  const dropped = new Set<ErrorObject>();
  const extra: Problem[] = [];
  // Unions: keep the errors of a branch that matched the value's shape (they are deeper),
  // otherwise replace the whole union by one message.
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (dropped.has(union)) continue;
    dropped.add(union);
    const branch = errors.filter((e) => e !== union && e.schemaPath.startsWith(`${union.schemaPath}/`) && within(e.instancePath, union.instancePath));
    const deep = branch.filter((e) => e.instancePath.startsWith(`${union.instancePath}/`));
    for (const e of branch) if (!deep.includes(e)) dropped.add(e);
    if (deep.length > 0) continue;
    const message = errorMessageOf(union) ?? `must be ${[...new Set(branch.map(expectation))].join(' or ')}`;
    extra.push({ path: pointerToPath(union.instancePath, data), message });
  }
  const reduced = errors.filter((e) => !dropped.has(e)).map((e) => reduceOne(e, data));
  // A value of the wrong type makes every other complaint about it noise.
  const typed = new Set(reduced.filter((r) => r.error.keyword === 'type').map((r) => r.error.instancePath));
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const r of reduced) {
    if (r.error.keyword !== 'type' && typed.has(r.error.instancePath) && !r.atKey) continue;
    const key = `${JSON.stringify(r.path)} ${r.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path: r.path, message: r.message, atKey: r.atKey });
  }
  return [...problems, ...extra];
}

function reduceOne(error: ErrorObject, data: unknown): Reduced {
  const path = pointerToPath(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const custom = errorMessageOf(error);
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const known = parent['properties'];
      if (known !== undefined && known !== null && typeof known === 'object') {
        const message = `unknown field '${name}'${didYouMean(name, Object.keys(known))}`;
        return { error, message, path: [...path, name], atKey: true };
      }
      const patterns = Object.keys(parent['patternProperties'] ?? {});
      return { error, message: `invalid name '${name}': must match ${patterns.join(' or ')}`, path: [...path, name], atKey: true };
    }
    case 'required':
      return { error, message: `missing required field '${String(params['missingProperty'])}'`, path, atKey: true };
    case 'const':
      return { error, message: custom ?? `must be ${JSON.stringify(params['allowedValue'])}`, path, atKey: false };
    case 'enum':
      return { error, message: custom ?? `must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}`, path, atKey: false };
    case 'minProperties':
    case 'minItems':
      return { error, message: params['limit'] === 1 ? 'must not be empty' : (error.message ?? error.keyword), path, atKey: false };
    case 'pattern':
    case 'format':
      return { error, message: custom ?? error.message ?? error.keyword, path, atKey: false };
    default:
      return { error, message: error.message ?? error.keyword, path, atKey: false };
  }
}

function within(pointer: string, parent: string): boolean {
  return pointer === parent || pointer.startsWith(`${parent}/`);
}

function errorMessageOf(error: ErrorObject): string | undefined {
  const message: unknown = error.parentSchema?.['errorMessage'];
  return typeof message === 'string' ? message : undefined;
}

function expectation(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'type') return String(params['type']);
  if (error.keyword === 'const') return JSON.stringify(params['allowedValue']);
  return errorMessageOf(error)?.replace(/^must be /, '') ?? (error.message ?? error.keyword).replace(/^must /, '');
}

/** JSON pointer → path segments; array indexes become numbers. */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      path.push(index);
      node = node[index] as unknown;
    } else {
      path.push(segment);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}
