/**
 * `src/client/openapi.ts` (the API's types, which the console's client is typed with) is what
 * `npm run client:types` writes from the route table today: a route or schema changed without
 * regenerating it fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, clientTypes, openapiDocument } from '../../scripts/client-types.js';

describe('the generated API types', () => {
  it('are up to date with the OpenAPI document (run `npm run client:types` when this fails)', async () => {
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
    expect(committed === (await clientTypes()), 'src/client/openapi.ts is stale: run npm run client:types').toBe(true);
  });

  it('are made from the document /openapi.json serves, with every API path', async () => {
    const doc = (await openapiDocument()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/v1/runs/{id}');
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
    for (const path of Object.keys(doc.paths)) expect(committed, path).toContain(`"${path}": {`);
  });
});
