/**
 * Route schemas compiled on a route's first request instead of at start-up, and response
 * schemas prepared for the serializer (`serializerSchema`). Fastify compiles
 * every route's request validators (ajv) and response serializers (fast-json-stringify) while it
 * gets ready: for this API about a second of CPU before `/readyz` can answer, most of it for
 * routes a process may never serve. These compiler factories are Fastify's own (the ones it uses
 * when given none), wrapped so that each schema compiles when its function is first called.
 * A schema that does not compile is then a 500 on that route's first request instead of a
 * failed start; `test/integration/server.lazy-schemas.test.ts` compiles every route's schemas eagerly.
 */
import type { FastifyServerOptions } from 'fastify';
import { fastifyCompilerSelectors } from './fastify-compilers.js';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
/** What Fastify hands a compiler: the schema, and where it applies (`httpPart`, or `httpStatus` for a response). */
interface RouteSchema {
  schema: unknown;
  httpPart?: string;
}
type Compiled = (...args: unknown[]) => unknown;
type Compiler = (routeSchema: RouteSchema) => Compiled;
/** A compiler factory: given the app's shared schemas (`addSchema`) and its ajv or serializer options. */
type Builder = (externalSchemas: unknown, options: unknown) => Compiler;

/** Fastify's default compiler factories, from its own dependencies (what it requires when given none). */
function fastifyDefaults(): { buildValidator: Builder; buildSerializer: Builder } {
  const { validatorSelector, serializerSelector } = fastifyCompilerSelectors();
  return { buildValidator: validatorSelector() as Builder, buildSerializer: serializerSelector() as Builder };
}

/**
 * A function that compiles `compile()`'s result on its first call (or when Fastify reads the
 * `schemaEnv` or `errors` of an ajv validator) and forwards every call to it.
 */
function lazily(compile: () => Compiled): Compiled {
  let compiled: Compiled | undefined;
  const get = (): Compiled => (compiled ??= compile());
  // Fastify calls a validator with the data and, for ajv, its context, and a serializer with the
  // value: two parameters forwarded as they are, without a rest array per call.
  const fn: Compiled = (data, context) => get()(data, context);
  for (const property of ['schemaEnv', 'errors'] as const) {
    Object.defineProperty(fn, property, { get: (): unknown => (get() as unknown as Record<string, unknown>)[property], enumerable: false });
  }
  return fn;
}

/**
 * Fastify lower-cases a header schema's property names when it compiles it with its default
 * compiler (header names arrive lower-cased) but not with a custom one, which these are.
 */
function lowerCaseHeaders(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const { properties, required, ...rest } = schema as { properties?: Record<string, unknown>; required?: unknown };
  return {
    ...rest,
    ...(properties ? { properties: Object.fromEntries(Object.entries(properties).map(([name, value]) => [name.toLowerCase(), value])) } : {}),
    ...(Array.isArray(required) ? { required: required.map((name: unknown) => (typeof name === 'string' ? name.toLowerCase() : name)) } : {}),
  };
}

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The branch of a two-branch `anyOf` beside `{ type: 'null' }` when it is a plain typed schema (no combinator, no `$ref`). */
function nullableBranch(schema: Schema): Schema | undefined {
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || branches.length !== 2 || !branches.every(isSchema)) return undefined;
  const nullAt = branches.findIndex((b) => b.type === 'null' && Object.keys(b).length === 1);
  const other = branches[1 - nullAt];
  if (nullAt < 0 || other === undefined || typeof other.type !== 'string' || other.type === 'null') return undefined;
  return ['anyOf', 'oneOf', 'allOf', 'not', 'if', '$ref', 'const', 'nullable'].some((k) => k in other) ? undefined : other;
}

/**
 * A response schema as the serializer is given it: each `Nullable(x)` (`anyOf: [x, { type: 'null' }]`)
 * written `x` with `nullable: true`. fast-json-stringify serializes an `anyOf` by running an ajv
 * validator on the value for each branch in turn (a `date-time` format check for every nullable
 * time of a run and its steps); `nullable` is one `=== null` test. The output is the same for
 * every value the DTO types allow. The OpenAPI document and request validation keep the schemas
 * as written.
 */
export function serializerSchema(schema: unknown, seen = new WeakMap<object, unknown>()): unknown {
  if (Array.isArray(schema)) return schema.map((item) => serializerSchema(item, seen));
  if (!isSchema(schema)) return schema;
  const done = seen.get(schema);
  if (done !== undefined) return done;
  const branch = nullableBranch(schema);
  const { anyOf: _anyOf, ...siblings } = schema;
  const source: Schema = branch ? { ...siblings, ...branch, nullable: true } : schema;
  const out: Schema = {};
  seen.set(schema, out);
  for (const [key, value] of Object.entries(source)) {
    if (SCHEMA_MAPS.has(key) && isSchema(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, serializerSchema(sub, seen)]));
    else out[key] = SUBSCHEMAS.has(key) ? serializerSchema(value, seen) : value;
  }
  return out;
}

/** Keywords whose value is a schema or a list of schemas, and those whose value maps names to schemas. */
const SUBSCHEMAS: ReadonlySet<string> = new Set([
  'items',
  'prefixItems',
  'additionalProperties',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'contains',
  'if',
  'then',
  'else',
]);
const SCHEMA_MAPS: ReadonlySet<string> = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

/** `build`, with each schema it is given prepared by `prepare` and compiled on first use (or at once, not `lazy`). */
function builder(build: () => Builder, lazy: boolean, prepare: (routeSchema: RouteSchema) => RouteSchema = (routeSchema) => routeSchema): Builder {
  return (externalSchemas, options) => {
    let compiler: Compiler | undefined;
    const compilerOf = (): Compiler => (compiler ??= build()(externalSchemas, options));
    // Prepared when compiled, too: a route never requested costs no walk of its schemas at start-up.
    return (routeSchema) => (lazy ? lazily(() => compilerOf()(prepare(routeSchema))) : compilerOf()(prepare(routeSchema)));
  };
}

/**
 * The `schemaController` option of the app: Fastify's own compilers, response schemas prepared
 * for the serializer (`serializerSchema`), and with `lazy` (the default) each schema compiled
 * on its route's first request.
 */
export function schemaController(options: { lazy?: boolean } = {}): NonNullable<FastifyServerOptions['schemaController']> {
  const lazy = options.lazy !== false;
  // Required on the first compile too: ajv and fast-json-stringify are not loaded before.
  let defaults: ReturnType<typeof fastifyDefaults> | undefined;
  const defaultsOf = () => (defaults ??= fastifyDefaults());
  const headersLowerCased = (routeSchema: RouteSchema): RouteSchema =>
    routeSchema.httpPart === 'headers' ? { ...routeSchema, schema: lowerCaseHeaders(routeSchema.schema) } : routeSchema;
  const forSerializer = (routeSchema: RouteSchema): RouteSchema => ({ ...routeSchema, schema: serializerSchema(routeSchema.schema) });
  const compilersFactory = {
    buildValidator: builder(() => defaultsOf().buildValidator, lazy, headersLowerCased),
    buildSerializer: builder(() => defaultsOf().buildSerializer, lazy, forSerializer),
  };
  return { compilersFactory: compilersFactory as unknown as CompilersFactory };
}
