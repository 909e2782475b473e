/** `agentry config validate`: what `serve` would refuse or warn of, without starting. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigValidation } from '../../src/app/config-validate.js';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

const GOOD_KEY = '9f2c4e1a7b3d5f8e0c6a2b4d7e9f1a3c5b7d9e2f4a6c8e0b';
/** Shaped like a live provider key, built here so no key-shaped text is committed. */
const FAKE_PROVIDER_KEY = ['sk', 'live', 'Q7m2Zx9RtK4wVpN8sJd3Hy6L'].join('-');

let dir: string;

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

/** A production environment that passes every check. */
function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { AGENTRY_API_KEYS: `ops:${GOOD_KEY}:admin`, AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}`, ...extra };
}

beforeEach(() => {
  dir = tempDir('agentry-config-validate-');
  write({ 'agentry.yaml': 'version: v1\negress: { allow: [] }\n' });
});

afterEach(() => removeDir(dir));

describe('agentry config validate', () => {
  it('exits 0 on a clean production configuration', async () => {
    const result = await runCliInProcess(['config', 'validate', dir, '--env', 'production'], { env: productionEnv() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ .* is ready to start in production mode/);
  });

  it('refuses a literal provider key in production, naming file:line and the key path, never the key', async () => {
    write({ 'gateway.yaml': `providers:\n  openai:\n    type: openai\n    api_key: "${FAKE_PROVIDER_KEY}"\n` });
    const result = await runCliInProcess(['config', 'validate', dir, '--env', 'production'], { env: productionEnv() });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('error: gateway.yaml:4: an OpenAI-style key is written literally (at providers.openai.api_key)');
    expect(result.stdout).not.toContain(FAKE_PROVIDER_KEY);
  });

  it('lists every problem at once, one line each, as JSON too', async () => {
    write({
      'agentry.yaml': 'version: v1\n',
      'tools/fs.yaml': 'name: fs\ncommand: npx\nargs: ["-y", "@acme/fs-mcp@^1.2"]\nenv: { FS_TOKEN: "{{ env.FS_TOKEN }}" }\n',
      'workflows/bad.yaml': 'name: bad\nsteps: 3\n',
    });
    const env = productionEnv({ AGENTRY_DATABASE_URL: 'postgres://agentry:change-me@db:5432/agentry', FS_TOKEN_FILE: join(dir, 'missing') });
    const text = await runCliInProcess(['config', 'validate', dir, '--env', 'production'], { env });
    expect(text.code).toBe(2);
    const json = await runCliInProcess(['config', 'validate', dir, '--env', 'production', '--json'], { env });
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as ConfigValidation;
    expect(report).toMatchObject({ env: 'production', ok: false });
    expect(report.problems.map((p) => p.check).sort()).toEqual(['production', 'production', 'production', 'secret_file', 'spec']);
    expect(report.problems.every((p) => p.severity === 'error')).toBe(true);
    expect(report.problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FS_TOKEN_FILE: cannot read/),
        expect.stringMatching(/^AGENTRY_DATABASE_URL: .*placeholder/),
        expect.stringMatching(/^tools\/fs\.yaml: npx runs @acme\/fs-mcp@\^1\.2 without an exact version/),
        expect.stringMatching(/^egress has no policy/),
      ]),
    );
    for (const problem of report.problems) expect(text.stdout).toContain(`error: ${problem.message.split('\n')[0]}`);
    expect(text.stdout).not.toContain('change-me');
  });

  it('reports a configuration that does not load (the production checks need one)', async () => {
    const result = await runCliInProcess(['config', 'validate', dir, '--json'], {
      env: productionEnv({ AGENTRY_API_KEY_FILE: join(dir, 'missing'), AGENTRY_ENV: 'staging' }),
    });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as ConfigValidation;
    expect(report.problems.map((p) => [p.check, p.severity])).toEqual([
      ['config', 'error'],
      ['config', 'error'],
    ]);
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/AGENTRY_API_KEY_FILE: cannot read[^]*AGENTRY_ENV/);
  });

  it('warns in development (exit 0) unless --strict', async () => {
    write({ 'tools/fs.yaml': 'name: fs\ncommand: uvx\nargs: [mcp-server-fs]\n' });
    const env = productionEnv();
    const development = await runCliInProcess(['config', 'validate', dir, '--json'], { env });
    expect(development.code).toBe(0);
    expect(JSON.parse(development.stdout)).toMatchObject({
      env: 'development',
      ok: true,
      problems: [{ check: 'production', severity: 'warning', message: expect.stringMatching(/^tools\/fs\.yaml: uvx runs mcp-server-fs/) }],
    });
    const strict = await runCliInProcess(['config', 'validate', '--dir', dir, '--strict'], { env });
    expect(strict.code).toBe(2);
    expect(strict.stdout).toMatch(/^error: tools\/fs\.yaml/m);
  });

  it('takes production from AGENTRY_ENV', async () => {
    const result = await runCliInProcess(['config', 'validate', dir, '--json'], { env: productionEnv({ AGENTRY_ENV: 'production', AGENTRY_AUTH: 'off' }) });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      env: 'production',
      ok: false,
      problems: [{ check: 'production', message: expect.stringMatching(/^auth is off/) }],
    });
  });
});
