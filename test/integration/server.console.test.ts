/**
 * The web console's static files (src/server/console.ts) as `buildApp` serves them at `/ui/`:
 * cache headers, the Content-Security-Policy and `<base href>` of index.html, deep links,
 * path traversal refused, nothing in the OpenAPI document, and the API's routes untouched.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoutesOf } from '../../src/server/app.js';
import { CONSOLE_CSP, consoleCsp, fileUnder, indexHtml } from '../../src/server/console.js';
import { consoleScopes } from '../../src/server/oidc.js';
import { startTestApi, type TestApi } from '../helpers/server.js';

const INDEX =
  '<!doctype html>\n<html lang="en">\n  <head>\n    <script type="module" src="./assets/index-abc123.js"></script>\n  </head>\n  <body></body>\n</html>\n';

let dir: string;
let api: TestApi;
let prefixed: TestApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentry-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets/index-abc123.js'), 'console.log("console");');
  writeFileSync(join(dir, 'assets/index-abc123.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'not in assets');
  writeFileSync(join(tmpdir(), 'agentry-console-outside.txt'), 'OUTSIDE-CONTENT');
  api = await startTestApi({ start: false, app: { consoleDir: dir } });
  prefixed = await startTestApi({ start: false, app: { consoleDir: dir, basePath: '/agentry' } });
});
afterAll(async () => {
  await api.close();
  await prefixed.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the web console at /ui/', () => {
  it('serves index.html with no-cache, a strict CSP and a <base href>, for /ui/ and any deep link', async () => {
    for (const url of ['/ui/', '/ui/runs/run_123', '/ui/tasks/task_1?x=1', '/ui/index.html']) {
      const res = await api.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.body).toContain('<base href="/ui/" />');
      expect(res.body).toContain('./assets/index-abc123.js');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    // Without an issuer the console's settings say so (and the page allows no other origin).
    const config = await api.app.inject({ url: '/ui/config.json' });
    expect(config.statusCode).toBe(200);
    expect(config.json()).toEqual({ oidc: null });
    expect(CONSOLE_CSP).toContain("connect-src 'self';");
    expect(consoleCsp('https://id.example.com/realms/acme')).toContain("connect-src 'self' https://id.example.com;");
    expect(consoleScopes('profile openid  groups')).toBe('openid profile groups');
    const bare = await api.app.inject({ url: '/ui' });
    expect(bare.statusCode).toBe(308);
    expect(bare.headers.location).toBe('/ui/');
  });

  it('serves hashed assets as immutable, with their types; a missing file is 404 problem+json, never index.html', async () => {
    const js = await api.app.inject({ url: '/ui/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log("console");');
    const css = await api.app.inject({ url: '/ui/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const other = await api.app.inject({ url: '/ui/secret.txt' });
    expect(other.headers['cache-control']).toBe('no-cache');
    const missing = await api.app.inject({ url: '/ui/assets/gone-123.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });

  it('refuses paths that leave the console directory', async () => {
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/etc/passwd',
      '/ui/assets/..%2f..%2fagentry-console-outside.txt',
      '/ui/..%5c..%5cx.txt',
      '/ui/%00.js',
    ]) {
      const res = await api.app.inject({ url });
      expect([400, 404], url).toContain(res.statusCode);
      expect(res.body, url).not.toContain('OUTSIDE-CONTENT');
      expect(res.body, url).not.toContain('root:');
    }
    expect(fileUnder(dir, '../x.txt')).toBeUndefined();
    expect(fileUnder(dir, 'assets/%2e%2e/%2e%2e/x.txt')).toBeUndefined();
    expect(fileUnder(dir, '%E0%A4%A')).toBeUndefined();
    expect(fileUnder(dir, 'assets/a.js')).toBe(join(dir, 'assets/a.js'));
  });

  it('names the mount prefix in <base href> and in the redirect', async () => {
    const res = await prefixed.app.inject({ url: '/ui/runs' });
    expect(res.body).toContain('<base href="/agentry/ui/" />');
    expect((await prefixed.app.inject({ url: '/ui' })).headers.location).toBe('/agentry/ui/');
    expect(indexHtml('<head></head>', '/a"b')).toContain('<base href="/a%22b/ui/" />');
  });

  it('is hidden from the OpenAPI document, and the API routes carry none of its headers', async () => {
    const spec = (await api.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
    expect(appRoutesOf(api.app).filter((r) => r.url.startsWith('/ui') && !r.hidden)).toEqual([]);
    const runs = await api.app.inject({ url: '/v1/runs', headers: api.auth('viewer') });
    expect(runs.statusCode).toBe(200);
    expect(runs.headers['content-security-policy']).toBeUndefined();
    // The console needs no key: the page holds no data.
    expect((await api.app.inject({ url: '/ui/runs' })).statusCode).toBe(200);
  });

  it('is absent when not built or turned off', async () => {
    const off = await startTestApi({ start: false, app: { consoleDir: false } });
    try {
      expect((await off.app.inject({ url: '/ui/' })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
