/**
 * The bundled CLI (`dist/bundle/`, built by `scripts/bundle.ts`; `bin/agentry.js` runs it) does
 * what the modules do where bundling could break it: files found next to a package's own code
 * (the API docs' static files), the spec validation worker thread (its own entry file),
 * source-mapped stack traces, and the packages left outside the bundle (the SQLite addon, pino).
 * Every other test that spawns the CLI runs the bundle too (`CLI_ENTRY`): `cli.demo.test.ts` an
 * agent calling the example's MCP tool server, `tracing.otlp.test.ts` the OpenTelemetry SDK.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { childEnv, CLI_ENTRY, killAll, REPO, removeDir, runCli, runCliInProcess, startCli, tempDir } from '../helpers/cli.js';

const KEY = 'bundle-key-0123456789abcdef0123456789';
const project = tempDir();
cpSync(join(REPO, 'examples/demo'), project, { recursive: true, filter: (path) => !path.includes('.agentry') });

afterEach(killAll);
afterAll(() => removeDir(project));

/** The first line of the server's banner names its URL. */
async function serverUrl(proc: ReturnType<typeof startCli>): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stdout)?.[1];
    if (url !== undefined) return url;
    const ended = await Promise.race([proc.done, new Promise((resolve) => setTimeout(() => resolve(undefined), 100))]);
    if (ended !== undefined) throw new Error(`serve ended:\n${proc.stderr}`);
  }
  throw new Error(`serve did not listen:\n${proc.stdout}\n${proc.stderr}`);
}

describe('the bundled CLI', () => {
  it('is what the tests run', () => {
    expect(CLI_ENTRY).toBe(join(REPO, 'dist/bundle/agentry.js'));
  });

  it('serves the example: ready, the API docs with their static files, and spec validation in its worker', async () => {
    const serve = startCli(['serve', project], { env: { AGENTRY_PORT: '0', AGENTRY_API_KEYS: `admin:${KEY}:admin` } });
    const url = await serverUrl(serve);
    const auth = { authorization: `Bearer ${KEY}` };

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const page = await fetch(`${url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const css = await fetch(`${url}/docs/static/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect((await css.text()).length).toBeGreaterThan(10_000);

    const validation = await fetch(`${url}/v1/specs/validate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        files: { 'workflows/w.yaml': 'version: v1\nname: w\nsteps:\n  a:\n    transform: { x: 1 }\n  b:\n    needs: [nope]\n    transform: { y: 2 }\n' },
      }),
    });
    expect(validation.status).toBe(200);
    const answer = (await validation.json()) as { valid: boolean; diagnostics: { file: string; message: string }[] };
    expect(answer.valid).toBe(false);
    expect(answer.diagnostics.some((d) => d.file === 'workflows/w.yaml' && d.message.includes('nope'))).toBe(true);

    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
  }, 120_000);

  it('validate reports an invalid project as the sources do (validators compiled at build time)', async () => {
    const bad = tempDir();
    try {
      mkdirSync(join(bad, 'workflows'));
      const typo = ['version: v1', 'name: w', 'stepz: 1', 'steps:', '  a:', '    transfrm: { x: 1 }'];
      const schema = [
        'version: v1',
        'name: v',
        'input:',
        '  schema:',
        '    properties: { a: { type: string, minLength: -1 } }',
        'steps:',
        '  a:',
        '    transform: { x: 1 }',
      ];
      writeFileSync(join(bad, 'workflows/w.yaml'), `${typo.join('\n')}\n`);
      writeFileSync(join(bad, 'workflows/v.yaml'), `${schema.join('\n')}\n`);
      const bundled = await runCli(['validate', bad]);
      const sources = await runCliInProcess(['validate', bad]);
      expect(bundled.code).toBe(2);
      expect(bundled.stdout).toContain("unknown field 'stepz'");
      expect(bundled.stdout).toContain('invalid JSON Schema');
      expect({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr }).toEqual({
        code: sources.code,
        stdout: sources.stdout,
        stderr: sources.stderr,
      });
    } finally {
      removeDir(bad);
    }
  });

  it('bin/agentry.js runs the bundle, and names src/ files in a stack trace with AGENTRY_DEBUG=1 (source maps)', () => {
    const result = spawnSync(process.execPath, [join(REPO, 'bin/agentry.js'), 'run', 'hello', '--input', '{', '--dir', project], {
      env: childEnv({ AGENTRY_DEBUG: '1' }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--input is not valid JSON');
    expect(result.stderr).toMatch(/at .*src\/cli\/context\.ts:\d+:\d+/);
    expect(result.stderr).toMatch(/at .*src\/cli\/commands\/run\.ts:\d+:\d+/);
  });
});
