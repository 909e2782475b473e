/**
 * Property-based fuzzing of every route in the table: arbitrary path parameters, query strings,
 * headers and bodies never give a 5xx or an unhandled rejection, and every 4xx is problem+json.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/server/app.js';
import { fixtureToolSpec, MOCK_GATEWAY, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let realRun: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown): void => {
  rejections.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  // The heartbeat of the file's worker may lag on a loaded machine: readiness must not answer 503 for that.
  api = await startTestApi({ app: { maxBodyBytes: 64 * 1024, maxWaitMs: 50, workerTtlMs: 10 * 60_000 }, gateway: MOCK_GATEWAY, tools: [fixtureToolSpec()] });
  realRun = (await api.engine.startRun('nap', {})).id;
  // `GET /v1/tools/fx` connects the fixture's stdio server, which then runs until the app closes:
  // connect it now, so the leak guard counts its process among what was open before the test.
  expect((await api.app.inject({ method: 'GET', url: '/v1/tools/fx', headers: api.auth('admin') })).statusCode).toBe(200);
});
afterAll(async () => {
  await api.close();
  process.off('unhandledRejection', onRejection);
});

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
const QUERY_KEYS = [
  'wait',
  'status',
  'workflow',
  'created_after',
  'created_before',
  'limit',
  'cursor',
  'after',
  'run_id',
  'from',
  'to',
  'diff',
  'q',
  // tenancy, keys, audit export, credentials
  'tenant',
  'name',
  'after_seq',
  'used_by',
  'unresolved',
  // the server's log lines (no ring here: they answer not_found, never a stream that does not end)
  'level',
];
const queryValue = fc.oneof(
  text,
  fc.integer().map(String),
  fc.constantFrom(
    '30s',
    '10ms',
    '0',
    '-1',
    '201',
    'queued,failed',
    '1,1',
    '1,2',
    'hello',
    '2024-01-01T00:00:00Z',
    'not-a-date',
    'MTox',
    '1e3',
    '2026-02-30',
    '2026-01-01',
    '0.0.run_0',
    '%_\\',
  ),
);
const query = fc.dictionary(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), queryValue, { maxKeys: 4 });
const param = () => fc.oneof(fc.constantFrom('hello', 'nap', 'nope', 'fx', 'long', realRun, '..', '%', '%2F'), text);
const json = fc.jsonValue({ maxDepth: 4 });
const specFiles = fc.dictionary(
  fc.oneof(fc.constantFrom('agentry.yaml', 'workflows/a.yaml', 'workflows/b.yml', 'agents/x.yaml', 'tools/t.yaml'), fc.string()),
  fc.oneof(text, fc.constantFrom('name: a\nsteps:\n  x:\n    transform: { y: 1 }\n', 'version: v1\nname: p\n', '{', 'steps: [1, 2]', '&a [*a]')),
  { maxKeys: 3 },
);
const body = fc.oneof(
  json,
  fc.record({ input: json, priority: fc.oneof(fc.integer(), json) }, { requiredKeys: [] }),
  fc.record({ files: fc.oneof(specFiles, json) }, { requiredKeys: [] }),
  fc.record({ reason: json, from_step: json }, { requiredKeys: [] }),
  // Chat requests: often valid, so the gateway itself (mock provider) answers, streaming or not.
  fc.record(
    {
      model: fc.oneof(fc.constantFrom('demo', 'nope'), text),
      messages: fc.oneof(
        fc.array(
          fc.record(
            { role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'x'), content: fc.oneof(text, fc.constant(null), json) },
            { requiredKeys: ['role'] },
          ),
          { maxLength: 3 },
        ),
        json,
      ),
      stream: fc.oneof(fc.boolean(), json),
      stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), json),
      max_tokens: fc.oneof(fc.integer(), json),
      temperature: fc.oneof(fc.double(), json),
      tools: json,
    },
    { requiredKeys: [] },
  ),
);
const raw = fc.oneof(
  body.map((b) => ({ payload: JSON.stringify(b), type: 'application/json' })),
  text.map((t) => ({ payload: t, type: 'application/json' })),
);
const headers = () =>
  fc.record(
    {
      'idempotency-key': fc.oneof(text, fc.constantFrom('', ' ', 'k'.repeat(300))),
      'last-event-id': fc.oneof(text, fc.nat().map(String)),
      'x-request-id': text,
      'x-agentry-run-id': fc.oneof(text, fc.constantFrom('run_nope', realRun)),
      'x-agentry-budget': fc.oneof(text, fc.constantFrom('{"maxCostUsd":0}', '{"maxTokens":1e309}', '{"max_cost_usd":1}', '[]', 'null')),
      'x-agentry-step-id': text,
      'x-agentry-workflow': text,
      'x-agentry-tenant': fc.oneof(text, fc.constantFrom('acme', 'system', 'default')),
      'x-agentry-internal-token': fc.oneof(text, fc.constantFrom('a.b.c', 'eyJhbGciOiJub25lIn0.e30.')),
    },
    { requiredKeys: [] },
  );

/** Header values Node's HTTP layer would refuse to send are left out (a client cannot send them). */
function sendable(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\t\x20-\x7e\x80-\xff]*$/.test(v)));
}

describe('fuzzing every route', () => {
  it("never answers 5xx, and answers every 4xx as problem+json (Anthropic's error shape on /v1/messages) with a request id", async () => {
    const routes = routesOf(api.app);
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(fc.tuple(param(), param()), query, headers(), raw, async ([p1, p2], q, h, b) => {
          let n = 0;
          const path = route.url.replace(/:[A-Za-z_]+/g, () => encodeURIComponent(n++ === 0 ? p1 : p2));
          const request: InjectOptions = {
            method: route.method,
            url: path,
            query: q,
            headers: { ...sendable(h), ...api.auth('admin'), ...(route.method === 'POST' ? { 'content-type': b.type } : {}) },
            ...(route.method === 'POST' ? { payload: b.payload } : {}),
          };
          const res = await api.app.inject(request);
          const where = `${route.method} ${path} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          if (res.statusCode >= 400 && route.url.startsWith('/v1/messages')) {
            // Anthropic's clients read Anthropic's error shape (docs/gateway.md), with Agentry's code inside.
            expect(res.headers['content-type'], where).toMatch(/^application\/json/);
            const body = res.json();
            expect(body.type, where).toBe('error');
            expect(body.error.details.error_code, where).toMatch(/^[a-z_]+$/);
            expect(body.request_id, where).toBe(res.headers['x-request-id']);
          } else if (res.statusCode >= 400) {
            expect(res.headers['content-type'], where).toMatch(/^application\/problem\+json/);
            const problem = res.json();
            expect(problem.code, where).toMatch(/^[a-z_]+$/);
            expect(problem.request_id, where).toBe(res.headers['x-request-id']);
          }
        }),
        { numRuns: 100 },
      );
    }
    // Let anything left dangling settle, then check nothing was rejected unhandled.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rejections).toEqual([]);
  }, 120_000);
});

describe('what the router refuses before any route', () => {
  it('answers a path parameter past 100 characters and an export cursor past 2^53 as problem+json 400', async () => {
    for (const url of [`/v1/runs/${'r'.repeat(5000)}`, `/v1/admin/keys/${'k'.repeat(101)}/rotate`, '/v1/audit/export?after_seq=1e300']) {
      const res = await api.app.inject({
        method: url.endsWith('rotate') ? 'POST' : 'GET',
        url,
        headers: api.auth('admin'),
        payload: url.endsWith('rotate') ? {} : undefined,
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(res.json(), url).toMatchObject({ code: 'invalid_request' });
    }
  });
});
