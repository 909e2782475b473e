/**
 * The typed client's contract with the server: every operation of the OpenAPI document has an
 * `operationId` of its own (the generated names stay stable), and the committed generated types
 * (`src/client/openapi.ts`) are what `npm run client:types` would write for these routes now.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, clientTypesSource, openapiDocument } from '../../scripts/client-types.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
let document: Record<string, unknown>;

beforeAll(async () => {
  document = await openapiDocument();
}, 60_000);

describe('the OpenAPI document', () => {
  it('gives every operation an operationId, camelCase, none shared by two operations', () => {
    const paths = document.paths as Record<string, Record<string, { operationId?: string }>>;
    const missing: string[] = [];
    const seen = new Map<string, string>();
    const shared: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const where = `${method.toUpperCase()} ${path}`;
        const id = operation.operationId;
        if (id === undefined || !/^[a-z][A-Za-z0-9]*$/.test(id)) {
          missing.push(`${where} (${id ?? 'none'})`);
          continue;
        }
        const first = seen.get(id);
        if (first) shared.push(`${id}: ${first} and ${where}`);
        else seen.set(id, where);
      }
    }
    expect(missing, 'operations without a camelCase operationId (set `operationId` in the route schema)').toEqual([]);
    expect(shared, 'operationIds used twice').toEqual([]);
    expect(seen.get('listRuns')).toBe('GET /v1/runs');
    expect(seen.get('startWorkflowRun')).toBe('POST /v1/workflows/{name}/runs');
  });
});

describe('src/client/openapi.ts', () => {
  it('is what the generator writes for the current routes', async () => {
    const expected = await clientTypesSource(document);
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8');
    expect(committed === expected, 'src/client/openapi.ts is stale: run `npm run client:types` and commit the result').toBe(true);
  }, 60_000);
});
