import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/app/config-schema.js';
import { schemaFileText, SPEC_KINDS, SPEC_SCHEMAS } from '../../src/spec/schemas.js';

const schemasDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'schemas');

/** Every object schema reachable from `schema`, with its JSON path. */
function objects(schema: unknown, at = '#'): Array<[string, Record<string, unknown>]> {
  if (schema === null || typeof schema !== 'object') return [];
  const node = schema as Record<string, unknown>;
  const own: Array<[string, Record<string, unknown>]> = node['type'] === 'object' ? [[at, node]] : [];
  return [...own, ...Object.entries(node).flatMap(([key, child]) => objects(child, `${at}/${key}`))];
}

describe('spec schemas', () => {
  it.each(SPEC_KINDS)('docs/schemas/%s.schema.json equals the generated schema (run npm run schemas)', (kind) => {
    const committed = fs.readFileSync(path.join(schemasDir, `${kind}.schema.json`), 'utf8');
    expect(committed).toBe(schemaFileText(kind));
  });

  // spec/validate.ts and app/config-schema.ts compile these without checking them (validateSchema: false).
  it.each(SPEC_KINDS)('the %s schema is a valid JSON Schema', (kind) => {
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(SPEC_SCHEMAS[kind]), ajv.errorsText()).toBe(true);
  });

  it('the schema of resolved configuration is a valid JSON Schema', () => {
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(ConfigSchema), ajv.errorsText()).toBe(true);
  });

  it('closes every object so unknown fields are errors', () => {
    const open = SPEC_KINDS.flatMap((kind) =>
      objects(SPEC_SCHEMAS[kind], kind).filter(([at, node]) => node['additionalProperties'] !== false && !at.includes('/schema')),
    );
    expect(open.map(([at]) => at)).toEqual([]);
  });
});
