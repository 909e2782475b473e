/** `agentry config validate`: what `serve` would refuse or warn of, without starting. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { buildBundle, signBundle } from '../../src/app/bundle.js';
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
  it('exits 0 on a clean production configuration, warning that its specs need not be signed', async () => {
    const result = await runCliInProcess(['config', 'validate', dir, '--env', 'production'], { env: productionEnv() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('warning: specs are not required to come from a signed bundle');
    expect(result.stdout).toMatch(/! .* starts in production mode with 1 warning$/m);
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
    const errors = report.problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.check).sort()).toEqual(['production', 'production', 'production', 'secret_file', 'spec']);
    // The one warning: production starts from unsigned specs, but says so.
    expect(report.problems.filter((p) => p.severity === 'warning').map((p) => p.message)).toEqual([expect.stringMatching(/signed bundle/)]);
    expect(report.problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FS_TOKEN_FILE: cannot read/),
        expect.stringMatching(/^AGENTRY_DATABASE_URL: .*placeholder/),
        expect.stringMatching(/^tools\/fs\.yaml: npx runs @acme\/fs-mcp@\^1\.2 without an exact version/),
        expect.stringMatching(/^egress has no policy/),
      ]),
    );
    for (const problem of errors) expect(text.stdout).toContain(`error: ${problem.message.split('\n')[0]}`);
    expect(text.stdout).not.toContain('change-me');
  });

  it("checks plugin steps against the project's installed plugins, as serve would", async () => {
    write({ 'workflows/wx.yaml': 'version: v1\nname: wx\nsteps:\n  today:\n    plugin: { name: weather, step: forecast }\n' });
    const result = await runCliInProcess(['config', 'validate', dir, '--json'], { env: { AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}` } });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as ConfigValidation;
    expect(report.problems).toContainEqual(
      expect.objectContaining({ check: 'spec', severity: 'error', message: expect.stringMatching(/workflows\/wx\.yaml:\d+.*weather/) }),
    );
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
      problems: [
        { check: 'production', severity: 'error', message: expect.stringMatching(/^auth is off/) },
        { check: 'production', severity: 'warning', message: expect.stringMatching(/signed bundle/) },
      ],
    });
  });

  describe('with a bundle', () => {
    /** A bundle of the project signed by a fresh key for `bundleEnv`, and the environment that trusts the key. */
    function signedBundle(bundleEnv: string | undefined, edit?: (manifest: Record<string, unknown>) => void): Record<string, string> {
      write({ 'workflows/hello.yaml': 'name: hello\nsteps:\n  a:\n    transform: 1\n' });
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const bundle = signBundle(buildBundle(dir), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'release', {
        approvedBy: 'alice',
        env: bundleEnv,
      });
      edit?.(bundle.manifest as unknown as Record<string, unknown>);
      writeFileSync(join(dir, 'b.json'), JSON.stringify(bundle));
      writeFileSync(join(dir, 'release.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      return productionEnv({ AGENTRY_BUNDLE: join(dir, 'b.json'), AGENTRY_TRUST_KEYS: join(dir, 'release.pub.pem'), AGENTRY_REQUIRE_SIGNED_SPECS: 'true' });
    }

    async function validate(env: Record<string, string>): Promise<ConfigValidation> {
      const result = await runCliInProcess(['config', 'validate', dir, '--env', 'production', '--json'], { env });
      return JSON.parse(result.stdout) as ConfigValidation;
    }

    it('passes a bundle signed by a trusted key for the required environment, without the unsigned-specs warning', async () => {
      expect(await validate({ ...signedBundle('prod'), AGENTRY_BUNDLE_ENV: 'prod' })).toMatchObject({ ok: true, problems: [] });
    });

    it('catches a tampered bundle, one for another environment, and an untrusted key before start', async () => {
      const tampered = await validate(signedBundle('prod', (m) => (m.approved_by = 'mallory')));
      expect(tampered.ok).toBe(false);
      expect(tampered.problems).toEqual([
        { check: 'bundle', severity: 'error', message: expect.stringContaining('bundle refused (bad_signature)') as unknown },
      ]);

      const staging = await validate({ ...signedBundle('staging'), AGENTRY_BUNDLE_ENV: 'prod' });
      expect(staging.problems).toEqual([{ check: 'bundle', severity: 'error', message: expect.stringContaining('bundle refused (wrong_env)') as unknown }]);

      const env = signedBundle('prod');
      writeFileSync(join(dir, 'release.pub.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
      const untrusted = await validate(env);
      expect(untrusted.problems).toEqual([
        { check: 'bundle', severity: 'error', message: expect.stringContaining('bundle refused (untrusted_key)') as unknown },
      ]);
    });

    it("checks the bundle's specs, not the directory's", async () => {
      const env = signedBundle(undefined);
      write({ 'workflows/hello.yaml': 'name: hello\nsteps: 3\n' }); // the directory changed after the bundle was built
      expect(await validate(env)).toMatchObject({ ok: true, problems: [] });
    });
  });
});
