/**
 * The API description and the docs: every route is in `/openapi.json`, the document is valid
 * OpenAPI 3.1, and `docs/api.md` shows the role → scope table (the metrics have a catalogue of
 * their own, `docs/operations/metrics.md`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoutesOf, routesOf } from '../../src/server/app.js';
import { ROLE_SCOPES, ROLES } from '../../src/server/scopes.js';
import { VERSION } from '../../src/lib/version.js';
import { startTestApi, type TestApi } from '../helpers/server.js';

const docs = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'api.md'), 'utf8');
let api: TestApi;
let spec: {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown[] }>>;
};

beforeAll(async () => {
  api = await startTestApi({ app: { version: VERSION } });
  spec = (await api.app.inject({ url: '/openapi.json' })).json();
});
afterAll(async () => {
  await api.close();
});

// A wildcard route (`/v1/plugins/:name/*`, a plugin's own routes) is `{*}` in the document.
const openapiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 with the package version', async () => {
    const validator = new Validator();
    const result = await validator.validate(spec);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(spec.info.version).toBe(VERSION);
    expect((await api.app.inject({ url: '/healthz' })).json().version).toBe(VERSION);
  });

  it('has every route the app serves (all but the docs UI assets), with its problem+json errors and security', () => {
    const served = appRoutesOf(api.app).filter((r) => !r.hidden);
    expect(served.length).toBe(routesOf(api.app).length);
    for (const route of served) {
      const operation = spec.paths[openapiPath(route.url)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      // The Messages API answers errors in Anthropic's shape (anthropic-errors.ts), every other route problem+json.
      const errorType = route.url === '/v1/messages' ? 'application/json' : 'application/problem+json';
      expect(operation!.responses['500']?.content?.[errorType], `${route.url} 500`).toBeDefined();
    }
    const hidden = appRoutesOf(api.app).filter((r) => r.hidden);
    expect(hidden.every((r) => r.url.startsWith('/docs') || r.url.startsWith('/ui'))).toBe(true);
    const start = spec.paths['/v1/workflows/{name}/runs']!.post!;
    for (const status of ['400', '401', '403', '404', '409', '413', '415'])
      expect(start.responses[status]?.content?.['application/problem+json'], status).toBeDefined();
    expect(start.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(spec.paths['/livez']!.get!.security).toEqual([]);
    // The gateway's routes also take a worker's internal service token.
    expect(spec.paths['/v1/chat/completions']!.post!.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }, { internalToken: [] }]);
    expect(spec.paths['/v1/messages']!.post!.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }, { internalToken: [] }]);
    expect(spec.paths['/v1/messages']!.post!.responses['400']?.content?.['application/json']).toEqual({
      schema: { $ref: '#/components/schemas/AnthropicError' },
    });
  });

  it('serves interactive docs at /docs', async () => {
    const res = await api.app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('swagger-ui');
  });
});

describe('docs/api.md', () => {
  it('points to the metric catalogue (docs/operations/metrics.md, checked by metrics.families.test.ts) and lists no family of its own', async () => {
    expect(docs).toContain('(operations/metrics.md)');
    expect(docs).not.toMatch(/`agentry_[a-z_]+`/);
    expect((await api.app.inject({ url: '/metrics', headers: api.auth('viewer') })).statusCode).toBe(200);
  });

  it('shows the role → scope table that the server enforces', () => {
    for (const role of ROLES) {
      const row = new RegExp(`^\\| \`${role}\` \\| (.*) \\|$`, 'm').exec(docs);
      expect(row, role).not.toBeNull();
      const scopes = [...row![1]!.matchAll(/`([a-z]+(?::[a-z]+)+)`/g)].map((m) => m[1]);
      expect(scopes.sort(), role).toEqual([...ROLE_SCOPES[role]].sort());
    }
  });
});
