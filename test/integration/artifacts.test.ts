/**
 * Run artifacts (docs/artifacts.md, ENG-30) on both stores: an `http` step saves its body as a
 * declared artifact → the run lists it (`GET /v1/runs/{id}` and `/artifacts`) and it downloads
 * byte-exact as an attachment; an undeclared name or `../x` fails the step and stores nothing;
 * the per-file and per-run limits; another tenant gets 404; a viewer reads; `%2e%2e%2f` in the
 * name is refused; retention removes the artifacts (and the SQLite backend's files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { EVERY_RUN } from '../../src/app/caller.js';
import { RetentionService } from '../../src/app/retention.js';
import { authSettings } from '../../src/server/auth.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { bearerOf, TENANT_API_KEYS, tenantKey } from '../helpers/tenants.js';

/** Not ASCII-only and not valid UTF-8 everywhere: a download must give these bytes back unchanged. */
const REPORT = Buffer.concat([Buffer.from('# Report\n\nTotal: 42 €\n'), Buffer.from([0x00, 0xff, 0xfe, 0x0a])]);

const WORKFLOWS: Record<string, unknown>[] = [
  {
    name: 'report',
    artifacts: ['out/report.md', 'data/*.json'],
    steps: { fetch: { http: { url: '{{ input.url }}/report', save_body_as: 'out/report.md' } } },
  },
  {
    name: 'sneaky',
    artifacts: ['out/report.md'],
    steps: { fetch: { http: { url: '{{ input.url }}/report', save_body_as: '{{ input.name }}' } } },
  },
  {
    name: 'pair',
    artifacts: ['data/*.json'],
    steps: {
      a: { http: { url: '{{ input.url }}/json?n={{ input.a }}', save_body_as: 'data/a.json', max_response_bytes: 100000 } },
      b: { needs: ['a'], http: { url: '{{ input.url }}/json?n={{ input.b }}', save_body_as: 'data/b.json', max_response_bytes: 100000 } },
    },
  },
];

const LIMITS = { maxFileBytes: 1_000, maxRunBytes: 1_500 };

type Run = { id: string; status: string; error: { code: string; message: string } | null; artifacts?: string[]; steps?: { id: string; output: unknown }[] };

describe.each(storeFactories)('run artifacts ($name)', (factory) => {
  let api: TestApi;
  let upstream: TestServer;

  beforeAll(async () => {
    upstream = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/report') {
        res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8' });
        res.end(REPORT);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pad: 'x'.repeat(Number(url.searchParams.get('n') ?? '1')) }));
    });
    api = await startTestApi({
      factory,
      workflows: WORKFLOWS,
      executorSettings: { artifacts: LIMITS },
      app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: TENANT_API_KEYS }) },
    });
  });
  afterAll(async () => {
    await api.close();
    await upstream.close();
  });

  const acme = (role: 'operator' | 'viewer' | 'admin') => bearerOf(tenantKey('acme', role));

  async function finished(workflow: string, input: Record<string, unknown>): Promise<Run> {
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/workflows/${workflow}/runs?wait=20s`,
      payload: { input: { url: upstream.url, ...input } },
      headers: acme('operator'),
    });
    expect(res.statusCode, res.body).toBe(200);
    const run = res.json<Run>();
    return (await api.app.inject({ url: `/v1/runs/${run.id}`, headers: acme('operator') })).json<Run>();
  }

  it('stores a declared artifact: listed on the run, downloaded byte-exact as an attachment, by a viewer too', async () => {
    const run = await finished('report', {});
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(run.artifacts).toEqual(['out/report.md']);
    const output = run.steps?.find((s) => s.id === 'fetch')?.output as { body: { artifact: Record<string, unknown> } };
    expect(output.body.artifact).toMatchObject({ name: 'out/report.md', size: REPORT.length });

    const list = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts`, headers: acme('viewer') });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({
      run_id: run.id,
      total_bytes: REPORT.length,
      items: [{ name: 'out/report.md', size: REPORT.length, content_type: 'text/markdown; charset=utf-8', step: 'fetch' }],
    });
    const sha256 = list.json<{ items: { sha256: string }[] }>().items[0]?.sha256;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);

    const file = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts/out/report.md`, headers: acme('viewer') });
    expect(file.statusCode, file.body).toBe(200);
    expect(file.rawPayload.equals(REPORT)).toBe(true);
    expect(file.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(file.headers['content-length']).toBe(String(REPORT.length));
    expect(file.headers['content-disposition']).toMatch(/^attachment; filename="report.md"/);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    // The name encoded as one path segment (what the client sends) is the same file.
    const encoded = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts/out%2Freport.md`, headers: acme('viewer') });
    expect(encoded.rawPayload.equals(REPORT)).toBe(true);

    if (api.store.kind === 'sqlite') {
      const root = join(dirname(api.store.location.replace(/^sqlite:/, '')), 'artifacts');
      expect(readFileSync(join(root, 'acme', run.id, 'out', 'report.md')).equals(REPORT)).toBe(true);
    }
  });

  it('refuses a traversal in the name of a download (also percent-encoded) and answers 404 for an unknown one', async () => {
    const run = await finished('report', {});
    for (const name of ['%2e%2e%2f%2e%2e%2fagentry.db', '..%2F..%2Fagentry.db', 'out%2F..%2F..%2Fx', '%2Fetc%2Fpasswd']) {
      const res = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts/${name}`, headers: acme('viewer') });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(400);
      expect(res.json(), name).toMatchObject({ code: 'invalid_request' });
    }
    const missing = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts/out/other.md`, headers: acme('viewer') });
    expect(missing.statusCode).toBe(404);
    expect((await api.app.inject({ url: '/v1/runs/run_nope/artifacts', headers: acme('viewer') })).statusCode).toBe(404);
  });

  it('fails the step on a name outside the declared paths or with .., and stores nothing', async () => {
    for (const [name, message] of [
      ['../x', "must not contain '..'"],
      ['out/../../x.md', "must not contain '..'"],
      ['/etc/passwd', 'must be a relative path'],
      ['other.txt', "artifact 'other.txt' is not declared"],
      ['out/report.md.html', "artifact 'out/report.md.html' is not declared"],
    ] as const) {
      const run = await finished('sneaky', { name });
      expect(run.status, name).toBe('failed');
      expect(run.error, name).toMatchObject({ code: 'artifact_denied' });
      expect(run.error?.message, name).toContain(message);
      expect(run.artifacts, name).toEqual([]);
      expect((await api.store.artifacts.list(run.id)).length, name).toBe(0);
    }
  });

  it('refuses a file past the per-file limit and a run past the per-run limit, storing nothing of the refused write', async () => {
    const big = await finished('pair', { a: 2_000, b: 1 });
    expect(big.status).toBe('failed');
    expect(big.error).toMatchObject({ code: 'artifact_too_large' });
    expect(big.error?.message).toContain('per-file limit of 1000');
    expect(big.artifacts).toEqual([]);

    const run = await finished('pair', { a: 760, b: 760 });
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'artifact_too_large' });
    expect(run.error?.message).toContain('past its limit of 1500');
    expect(run.artifacts).toEqual(['data/a.json']);

    const fits = await finished('pair', { a: 600, b: 600 });
    expect(fits.status, JSON.stringify(fits.error)).toBe('succeeded');
    expect(fits.artifacts).toEqual(['data/a.json', 'data/b.json']);
  });

  it("answers 404 to another tenant's keys for the list and the download", async () => {
    const run = await finished('report', {});
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const headers = bearerOf(tenantKey('globex', role));
      const list = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts`, headers });
      expect(list.statusCode, role).toBe(404);
      expect(list.json()).toMatchObject({ code: 'not_found' });
      const file = await api.app.inject({ url: `/v1/runs/${run.id}/artifacts/out/report.md`, headers });
      expect(file.statusCode, role).toBe(404);
      expect(file.body).not.toContain('Total: 42');
    }
  });

  it('removes the artifacts (rows and files) with the run when retention prunes it', async () => {
    const run = await finished('report', {});
    const root = api.store.kind === 'sqlite' ? join(dirname(api.store.location.replace(/^sqlite:/, '')), 'artifacts', 'acme', run.id) : undefined;
    if (root) expect(existsSync(root)).toBe(true);
    const retention = new RetentionService(api.store, new AuditService(api.store), () => Date.now() + 60_000);
    const pruned = await retention.prune({ olderThanMs: 1_000, statuses: ['succeeded'] }, { name: 'test', roles: [], runAccess: EVERY_RUN });
    expect(pruned.runs).toBeGreaterThan(0);
    expect(await api.store.artifacts.list(run.id)).toEqual([]);
    expect(await api.store.artifacts.read(run.id, 'out/report.md')).toBeUndefined();
    if (root) expect(existsSync(root)).toBe(false);
  });
});
