/**
 * Fastify's default schema compilers (`@fastify/ajv-compiler`, `@fastify/fast-json-stringify-compiler`),
 * the ones it requires when given none, from fastify's own dependencies. Loaded on the first route
 * compile (`lazy-schemas.ts`). The bundled build (`scripts/bundle.ts`) replaces this module with
 * static imports resolved from fastify's directory, so that the bundle holds them (and shares its
 * ajv) instead of loading about a hundred CommonJS files from node_modules on the first request.
 */
import { createRequire } from 'node:module';

/** A compiler factory's selector: called once, it gives the factory Fastify calls with its options. */
type Selector = () => unknown;

export function fastifyCompilerSelectors(): { validatorSelector: Selector; serializerSelector: Selector } {
  const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  return {
    validatorSelector: requireFromFastify('@fastify/ajv-compiler') as Selector,
    serializerSelector: requireFromFastify('@fastify/fast-json-stringify-compiler') as Selector,
  };
}
