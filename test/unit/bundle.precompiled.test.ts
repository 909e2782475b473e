/**
 * The validators the bundle holds compiled at build time (`scripts/bundle.ts`,
 * `src/lib/precompiled.ts`) answer like the ones the sources compile at run time: the same
 * verdict and the same errors for valid and invalid specs, user-written schemas and configuration.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { standaloneValidators } from '../../scripts/bundle.js';
import { ConfigSchema, newConfigAjv } from '../../src/app/config-schema.js';
import { SPEC_SCHEMAS, type SpecKind } from '../../src/spec/schemas.js';
import { JSON_SCHEMA_META, newSpecAjv, newUserAjv } from '../../src/spec/validate.js';

const BUILD = resolve(import.meta.dirname, '../.build/precompiled');
mkdirSync(BUILD, { recursive: true });
const sources = standaloneValidators();
const require = createRequire(join(BUILD, 'x.cjs'));

/** The standalone module `name`, loaded as the bundle would (CommonJS, ajv's runtime from node_modules). */
function precompiled(name: string): ValidateFunction {
  const file = join(BUILD, `${name.replace(':', '-')}.cjs`);
  writeFileSync(file, sources[name]!);
  return require(file) as ValidateFunction;
}

function same(compiled: ValidateFunction, built: ValidateFunction, data: unknown): void {
  const verdict = compiled(data);
  expect(built(data)).toBe(verdict);
  expect(built.errors ?? null).toEqual(compiled.errors ?? null);
}

const WORKFLOWS: unknown[] = [
  { version: 'v1', name: 'hello', steps: { greet: { transform: { greeting: 'hi' } } } },
  { version: 'v1', name: 'bad', stepz: 1, steps: { a: { transfrm: { x: 1 } }, b: { needs: 'a', sleep: 3 } } },
  { version: 'v2', steps: [] },
  'not an object',
];

describe('validators compiled at build time', () => {
  it('holds every spec kind, the JSON Schema meta-schema and configuration', () => {
    expect(Object.keys(sources).sort()).toEqual([...Object.keys(SPEC_SCHEMAS).map((kind) => `spec:${kind}`), 'config', 'json-schema'].sort());
  });

  it.each(Object.keys(SPEC_SCHEMAS) as SpecKind[])('spec kind %s: the same verdict and errors', (kind) => {
    const built = precompiled(`spec:${kind}`);
    const compiled = newSpecAjv().compile(SPEC_SCHEMAS[kind]);
    for (const data of [...WORKFLOWS, {}, { version: 'v1', name: 'x' }, { version: 'v1', name: 'x', unknown: true }]) same(compiled, built, data);
  });

  it('the meta-schema of user-written schemas: the same verdict and errors', () => {
    const built = precompiled('json-schema');
    const compiled = newUserAjv().getSchema(JSON_SCHEMA_META)!;
    const schemas = [
      { type: 'object', properties: { a: { type: 'string', minLength: 1 } }, required: ['a'] },
      { type: 'objekt' },
      { properties: { a: { minLength: -1 } } },
      { $id: 'not a uri \\', pattern: '([' },
      { type: 'array', items: [{ type: 'string' }], additionalItems: 'no' },
    ];
    for (const schema of schemas) same(compiled, built, schema);
  });

  it('configuration: the same verdict and errors', () => {
    const built = precompiled('config');
    const compiled = newConfigAjv().compile(ConfigSchema);
    for (const data of [{}, { port: 'x' }, { port: 7700, host: 1 }, null]) same(compiled, built, data);
  });
});
