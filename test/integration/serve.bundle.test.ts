/**
 * `serve --bundle … --require-signed-specs --trust-key …`: a server starts from a verified
 * bundle (its workflows, not the project directory's) and `/readyz` shows the bundle's hash and
 * signer; an unsigned, untrusted or tampered bundle — or none — is refused at start with
 * `bundle_invalid` naming the reason, exit 2, before anything listens.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, keyId, signBundle, trustKey, type Bundle } from '../../src/app/bundle.js';
import { loadConfig } from '../../src/app/config.js';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

const dir = tempDir('agentry-serve-bundle-');
afterAll(() => removeDir(dir));
const project = join(dir, 'project');
mkdirSync(join(project, 'workflows'), { recursive: true });
writeFileSync(join(project, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a:\n    transform: "{{ 1 }}"\n');
// The directory the server runs in holds a different workflow: only the bundle's may load.
const serverDir = join(dir, 'server');
mkdirSync(join(serverDir, 'workflows'), { recursive: true });
writeFileSync(join(serverDir, 'workflows', 'local.yaml'), 'name: local\nsteps:\n  a:\n    transform: "{{ 1 }}"\n');

function keyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
const release = keyPair();
const other = keyPair();
writeFileSync(join(dir, 'release.pub.pem'), release.publicPem);

const signed = (env?: string): Bundle => structuredClone(signBundle(buildBundle(project), release.privatePem, 'release', { approvedBy: 'alice', env }));
function writeBundle(name: string, bundle: Bundle): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(bundle));
  return file;
}

const env = { AGENTRY_AUTH: 'off', AGENTRY_READYZ_DETAIL: 'full', AGENTRY_DATABASE_URL: 'sqlite::memory:', AGENTRY_PORT: '0' };
const signedArgs = (file: string) => ['--bundle', file, '--require-signed-specs', '--trust-key', join(dir, 'release.pub.pem')];

describe('serve from a signed bundle', () => {
  it("loads the bundle's specs and /readyz shows its hash and signer", async () => {
    const file = writeBundle('ok.bundle.json', signed());
    const config = loadConfig({
      flags: { projectDir: serverDir, bundle: file, requireSignedSpecs: true, trustKeys: join(dir, 'release.pub.pem') },
      env,
      cwd: dir,
    });
    const project = await loadProjectOrThrow(config, env);
    expect([...project.workflows.keys()]).toEqual(['hello']);
    expect(project.dir).toBe(serverDir);
    const server = await startServer(config, pino({ level: 'silent' }), env, project);
    try {
      const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { specs: { status: string; detail: string } } };
      expect(readyz.checks.specs.status).toBe('ok');
      expect(readyz.checks.specs.detail).toMatch(/^bundle sha256:[0-9a-f]{64}, signed by 'release' \(key sha256:[0-9a-f]{64}\), approved by 'alice'$/);
      expect(readyz.checks.specs.detail).toContain(keyId(trustKey(release.publicPem, 'release')));
      expect(readyz.checks.specs.detail).toContain(project.bundle?.hash);
    } finally {
      await server.close();
    }
  });

  const refusals: [string, string, () => string[]][] = [
    ['no bundle', 'unsigned', () => ['--require-signed-specs', '--trust-key', join(dir, 'release.pub.pem')]],
    ['an unsigned bundle', 'unsigned', () => signedArgs(writeBundle('unsigned.json', { ...signed(), signature: undefined }))],
    [
      'a bundle signed by an untrusted key',
      'untrusted_key',
      () => signedArgs(writeBundle('other.json', signBundle(buildBundle(project), other.privatePem, 'x'))),
    ],
    [
      'a file whose content does not match the manifest',
      'file_mismatch',
      () => {
        const b = signed();
        b.files['workflows/hello.yaml'] += '# changed\n';
        return signedArgs(writeBundle('mismatch.json', b));
      },
    ],
    [
      'a file not in the manifest',
      'file_not_in_manifest',
      () => {
        const b = signed();
        b.files['workflows/extra.yaml'] = 'name: extra\nsteps:\n  a:\n    transform: "{{ 1 }}"\n';
        return signedArgs(writeBundle('extra.json', b));
      },
    ],
    [
      'a manifest edited after signing',
      'bad_signature',
      () => {
        const b = signed();
        b.manifest.created_at = '2030-01-01T00:00:00.000Z';
        return signedArgs(writeBundle('edited.json', b));
      },
    ],
  ];
  it('with --bundle-env, starts from a bundle approved for that environment and /readyz shows it', async () => {
    const file = writeBundle('prod.bundle.json', signed('prod'));
    const flags = { projectDir: serverDir, bundle: file, requireSignedSpecs: true, bundleEnv: 'prod', trustKeys: join(dir, 'release.pub.pem') };
    const config = loadConfig({ flags, env, cwd: dir });
    const loaded = await loadProjectOrThrow(config, env);
    expect(loaded.bundle).toMatchObject({ approvedBy: 'alice', env: 'prod' });
    const server = await startServer(config, pino({ level: 'silent' }), env, loaded);
    try {
      const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { specs: { detail: string } } };
      expect(readyz.checks.specs.detail).toMatch(/, signed by 'release' \(key sha256:[0-9a-f]{64}\), approved by 'alice' for env 'prod'$/);
    } finally {
      await server.close();
    }
  });

  const envRefusals: [string, () => string[]][] = [
    ['a bundle signed for another environment', () => [...signedArgs(writeBundle('staging.json', signed('staging'))), '--bundle-env', 'prod']],
    ['a bundle signed for no environment', () => [...signedArgs(writeBundle('noenv.json', signed())), '--bundle-env', 'prod']],
  ];
  it.each(envRefusals)('refuses %s with --bundle-env (exit 2, wrong_env)', async (_name, args) => {
    const result = await runCliInProcess(['serve', serverDir, ...args()], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error [bundle_invalid]: bundle refused (wrong_env)');
    expect(result.stdout).not.toContain('listening');
  });

  it.each(refusals)('refuses %s at start (exit 2, reason %s)', async (_name, reason, args) => {
    const result = await runCliInProcess(['serve', serverDir, ...args()], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error [bundle_invalid]: bundle refused (${reason})`);
    expect(result.stdout).not.toContain('listening');
  });
});
