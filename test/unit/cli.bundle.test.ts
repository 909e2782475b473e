/**
 * `agentry bundle build|sign|verify` in process: a built and signed bundle verifies against the
 * signer's public key; a tampered one, an unsigned one and one signed by another key exit 2
 * with `bundle_invalid` and the reason. Keys are generated at run time, never committed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

const dir = tempDir('agentry-bundle-cli-');
afterAll(() => removeDir(dir));
const project = join(dir, 'project');
mkdirSync(join(project, 'workflows'), { recursive: true });
writeFileSync(join(project, 'agentry.yaml'), 'name: demo\n');
writeFileSync(join(project, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a:\n    transform: "{{ 1 }}"\n');

function writeKeyPair(name: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, `${name}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
}
writeKeyPair('release');
writeKeyPair('other');

const cli = (...args: string[]) => runCliInProcess(['bundle', ...args], { cwd: dir });
const bundleJson = (file: string): { files: Record<string, string>; signature?: { signer: string; key_id: string } } =>
  JSON.parse(readFileSync(join(dir, file), 'utf8')) as never;

describe('agentry bundle', () => {
  it('builds, signs and verifies a bundle; --json prints the signer and whether it was verified', async () => {
    const built = await cli('build', 'project', '--out', 'p.bundle.json', '--json');
    expect(built.code).toBe(0);
    const { files } = JSON.parse(built.stdout) as { hash: string; files: { path: string }[] };
    expect(files.map((f) => f.path)).toEqual(['agentry.yaml', 'workflows/hello.yaml']);

    const signed = await runCliInProcess(['bundle', 'sign', 'p.bundle.json', '--key', 'release.pem'], { cwd: dir, env: { USER: 'ops-bob' } });
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`signed ${join(dir, 'p.bundle.json')} as 'release' (key sha256:`);
    // Without --approved-by, the approver is the OS user.
    expect(signed.stdout).toContain("approved by 'ops-bob'");
    expect(bundleJson('p.bundle.json').signature?.signer).toBe('release');
    const hash = /(sha256:[0-9a-f]{64})$/m.exec(signed.stdout)?.[1];

    const verified = await cli('verify', 'p.bundle.json', '--pub', 'release.pub.pem', '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toEqual(
      expect.objectContaining({ hash, files: 2, signed: true, signer: 'release', verified: true, approved_by: 'ops-bob', env: null }),
    );
  });

  it('records who approved the bundle and for which environment in the signed manifest; verify --env checks it', async () => {
    await cli('build', 'project', '--out', 'e.bundle.json');
    const signed = await cli('sign', 'e.bundle.json', '--key', 'release.pem', '--approved-by', 'alice', '--env', 'prod', '--json');
    expect(JSON.parse(signed.stdout)).toMatchObject({ signer: 'release', approved_by: 'alice', env: 'prod' });
    const manifest = (JSON.parse(readFileSync(join(dir, 'e.bundle.json'), 'utf8')) as { manifest: Record<string, unknown> }).manifest;
    expect(manifest).toMatchObject({ approved_by: 'alice', env: 'prod' });

    const ok = await cli('verify', 'e.bundle.json', '--pub', 'release.pub.pem', '--env', 'prod');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("signed by 'release'");
    expect(ok.stdout).toContain("approved by 'alice' for env 'prod'");

    const elsewhere = await cli('verify', 'e.bundle.json', '--pub', 'release.pub.pem', '--env', 'staging');
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain("bundle refused (wrong_env): the bundle is approved for 'prod'; this server requires 'staging'");

    // The approval is signed: changing it afterwards breaks the signature.
    const edited = JSON.parse(readFileSync(join(dir, 'e.bundle.json'), 'utf8')) as { manifest: Record<string, unknown> };
    edited.manifest.env = 'staging';
    writeFileSync(join(dir, 'x.bundle.json'), JSON.stringify(edited));
    const forged = await cli('verify', 'x.bundle.json', '--pub', 'release.pub.pem', '--env', 'staging');
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain('bundle refused (bad_signature)');

    const bad = await cli('sign', 'e.bundle.json', '--key', 'release.pem', '--approved-by', 'a\nb');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the approver must be 1–128 characters without control characters');
  });

  it('exits 2 naming the reason for an unsigned bundle, an untrusted key and a tampered file', async () => {
    await cli('build', 'project', '--out', 'u.bundle.json');
    const unsigned = await cli('verify', 'u.bundle.json', '--pub', 'release.pub.pem');
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toContain('[bundle_invalid]: bundle refused (unsigned)');

    await cli('sign', 'u.bundle.json', '--key', 'other.pem', '--signer', 'mallory', '--out', 'o.bundle.json');
    const untrusted = await cli('verify', 'o.bundle.json', '--pub', 'release.pub.pem');
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain("bundle refused (untrusted_key): signed by 'mallory'");

    await cli('sign', 'u.bundle.json', '--key', 'release.pem', '--out', 't.bundle.json');
    const tampered = bundleJson('t.bundle.json');
    tampered.files['workflows/hello.yaml'] = 'name: hello\nsteps:\n  a:\n    transform: "{{ 2 }}"\n';
    writeFileSync(join(dir, 't.bundle.json'), JSON.stringify(tampered));
    const mismatch = await cli('verify', 't.bundle.json', '--pub', 'release.pub.pem');
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain("bundle refused (file_mismatch): the content of 'workflows/hello.yaml'");
  });

  it('refuses to sign with a public key', async () => {
    await cli('build', 'project', '--out', 'k.bundle.json');
    const result = await cli('sign', 'k.bundle.json', '--key', 'release.pub.pem');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('public key');
  });
});
