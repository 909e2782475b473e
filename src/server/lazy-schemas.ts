/**
 * Route schemas compiled on a route's first request instead of at start-up. Fastify compiles
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
  const fn: Compiled = (...args) => get()(...args);
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

/** `build`, with each schema it is given compiled on first use. */
function lazyBuilder(build: () => Builder, prepare: (routeSchema: RouteSchema) => RouteSchema = (routeSchema) => routeSchema): Builder {
  return (externalSchemas, options) => {
    let compiler: Compiler | undefined;
    const compilerOf = (): Compiler => (compiler ??= build()(externalSchemas, options));
    return (routeSchema) => {
      const prepared = prepare(routeSchema);
      return lazily(() => compilerOf()(prepared));
    };
  };
}

/** The `schemaController` option of an app whose route schemas compile on first use. */
export function lazySchemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  // Required on the first compile too: ajv and fast-json-stringify are not loaded before.
  let defaults: ReturnType<typeof fastifyDefaults> | undefined;
  const defaultsOf = () => (defaults ??= fastifyDefaults());
  const headersLowerCased = (routeSchema: RouteSchema): RouteSchema =>
    routeSchema.httpPart === 'headers' ? { ...routeSchema, schema: lowerCaseHeaders(routeSchema.schema) } : routeSchema;
  const compilersFactory = {
    buildValidator: lazyBuilder(() => defaultsOf().buildValidator, headersLowerCased),
    buildSerializer: lazyBuilder(() => defaultsOf().buildSerializer),
  };
  return { compilersFactory: compilersFactory as unknown as CompilersFactory };
}
