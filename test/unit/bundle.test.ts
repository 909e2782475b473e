/**
 * Spec bundles: a built bundle holds the project's spec files and a manifest of their hashes;
 * a signed one verifies against its signer's public key; every kind of tampering is refused
 * with `bundle_invalid` naming the reason. Keys are generated here, never committed.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, bundleHash, keyId, parseBundle, signBundle, trustKey, verifyBundle, type Bundle } from '../../src/app/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'agentry-bundle-unit-'));
mkdirSync(join(dir, 'workflows'));
writeFileSync(join(dir, 'agentry.yaml'), 'name: demo\n');
writeFileSync(join(dir, 'workflows', 'hello.yaml'), 'name: hello\nsteps:\n  a:\n    transform: "{{ 1 }}"\n');
writeFileSync(join(dir, 'workflows', 'notes.txt'), 'not a spec');
writeFileSync(join(dir, 'README.md'), 'not a spec');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const release = keyPair();
const stranger = keyPair();
const trusted = [trustKey(release.publicPem, 'release.pub')];
const signed = (): Bundle => structuredClone(signBundle(buildBundle(dir, new Date('2026-01-01T00:00:00Z')), release.privatePem, 'release'));

function refusal(bundle: Bundle, requireSignature = true): unknown {
  try {
    verifyBundle(parseBundle(JSON.stringify(bundle)), { trustKeys: trusted, requireSignature });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('bundle build', () => {
  it('packs only the spec files, sorted, each with its sha256 in the manifest', () => {
    const bundle = buildBundle(dir, new Date('2026-01-01T00:00:00Z'));
    expect(bundle.manifest.files.map((f) => f.path)).toEqual(['agentry.yaml', 'workflows/hello.yaml']);
    expect(bundle.files['agentry.yaml']).toBe('name: demo\n');
    expect(bundle.manifest.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same hash for the same files and time', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(bundleHash(buildBundle(dir, at))).toBe(bundleHash(buildBundle(dir, at)));
  });
});

describe('bundle sign and verify', () => {
  it('verifies a signed bundle against its signer key, naming the signer and key id', () => {
    const verified = verifyBundle(parseBundle(JSON.stringify(signed())), { trustKeys: trusted, requireSignature: true });
    expect(verified.signer).toEqual({ name: 'release', keyId: keyId(trusted[0]!) });
    expect(verified.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses a public key as the signing key and a private key as a trusted key', () => {
    expect(() => signBundle(buildBundle(dir), release.publicPem, 'x')).toThrow(/public key/);
    expect(() => trustKey(release.privatePem, 'k')).toThrow(/private key/);
  });

  const tamperings: [string, string, (b: Bundle) => Bundle | undefined][] = [
    ['an unsigned bundle', 'unsigned', (b) => ({ ...b, signature: undefined })],
    ['a signature by an untrusted key', 'untrusted_key', () => signBundle(buildBundle(dir), stranger.privatePem, 'mallory')],
    [
      'a file whose content does not match the manifest',
      'file_mismatch',
      (b) => ({ ...b, files: { ...b.files, 'workflows/hello.yaml': 'name: hello\nsteps: {}\n' } }),
    ],
    ['a file not in the manifest', 'file_not_in_manifest', (b) => ({ ...b, files: { ...b.files, 'workflows/extra.yaml': 'name: extra\n' } })],
    [
      'a manifest edited after signing',
      'bad_signature',
      (b) => {
        b.manifest.created_at = '2030-01-01T00:00:00.000Z';
        return b;
      },
    ],
    [
      'a file and its manifest hash both changed after signing',
      'bad_signature',
      (b) => {
        const content = 'name: hello\nsteps: {}\n';
        const entry = b.manifest.files.find((f) => f.path === 'workflows/hello.yaml')!;
        entry.sha256 = createHash('sha256').update(content).digest('hex');
        b.files['workflows/hello.yaml'] = content;
        return b;
      },
    ],
    [
      'a manifest entry whose file is missing',
      'file_missing',
      (b) => {
        delete b.files['agentry.yaml'];
        return b;
      },
    ],
    [
      'a path outside the spec folders',
      'unsafe_path',
      (b) => {
        b.manifest.files.push({ path: '../etc/passwd', sha256: '0' });
        return b;
      },
    ],
  ];
  it.each(tamperings)('refuses %s (bundle_invalid, reason %s)', (_name, reason, tamper) => {
    const error = refusal(tamper(signed()) ?? signed());
    expect(error).toMatchObject({ code: 'bundle_invalid', details: { reason } });
    expect((error as Error).message).toContain(`(${reason})`);
  });

  it('accepts an unsigned bundle when no signature is required, and refuses a malformed file', () => {
    expect(refusal({ ...signed(), signature: undefined }, false)).toBeUndefined();
    expect(() => parseBundle('{"format":"other"}')).toThrow(expect.objectContaining({ code: 'bundle_invalid', details: { reason: 'malformed' } }));
  });
});

describe('approval and environment', () => {
  const approved = (env?: string): Bundle =>
    structuredClone(signBundle(buildBundle(dir, new Date('2026-01-01T00:00:00Z')), release.privatePem, 'release', { approvedBy: 'alice', env }));

  it('records who approved the bundle and for which environment in the signed manifest', () => {
    const bundle = approved('prod');
    expect(bundle.manifest).toMatchObject({ approved_by: 'alice', env: 'prod' });
    expect(verifyBundle(bundle, { trustKeys: trusted, requireSignature: true, requireEnv: 'prod' })).toMatchObject({
      approvedBy: 'alice',
      env: 'prod',
      signer: { name: 'release' },
    });
    // Signing again replaces the approval (and the signature that covered it).
    const resigned = signBundle(bundle, release.privatePem, 'release', { approvedBy: 'bob' });
    expect(resigned.manifest.approved_by).toBe('bob');
    expect(resigned.manifest.env).toBeUndefined();
  });

  it('refuses a bundle approved for another environment, or for none, when one is required', () => {
    for (const bundle of [approved('staging'), approved(undefined)]) {
      let error: unknown;
      try {
        verifyBundle(bundle, { trustKeys: trusted, requireSignature: true, requireEnv: 'prod' });
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'bundle_invalid', details: { reason: 'wrong_env' } });
    }
  });

  it('refuses an approval changed after signing, and a malformed one', () => {
    const edited = approved('prod');
    edited.manifest.approved_by = 'mallory';
    expect(refusal(edited)).toMatchObject({ details: { reason: 'bad_signature' } });
    const malformed = { ...approved('prod'), manifest: { ...approved('prod').manifest, env: 7 } };
    expect(() => parseBundle(JSON.stringify(malformed))).toThrow(/not an agentry-bundle\/1 file/);
  });
});
