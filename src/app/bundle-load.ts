/**
 * Where a process's specs come from when `AGENTRY_BUNDLE` or `AGENTRY_REQUIRE_SIGNED_SPECS` is
 * set: the bundle is read and verified (against `AGENTRY_TRUST_KEYS`), its files written to a
 * temporary directory that is loaded like a project directory and removed again.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AgentryError } from '../lib/errors.js';
import { parseBundle, trustKey, verifyBundle, type VerifiedBundle } from './bundle.js';
import type { Config } from './config.js';

/** The bundle a process loaded its specs from (shown by `/readyz`). */
export interface SpecBundleInfo {
  file: string;
  /** `sha256:<hex>` of the signed manifest. */
  hash: string;
  /** Set when a trusted key's signature was verified. */
  signer?: { name: string; keyId: string };
  /** Who approved the specs and for which environment (the manifest's `approved_by` and `env`). */
  approvedBy?: string;
  env?: string;
}

function readText(file: string, label: string): string {
  if (!existsSync(file)) throw new AgentryError('invalid_request', `${label} ${file} does not exist`);
  return readFileSync(file, 'utf8');
}

/** Reads and verifies the configured bundle; throws `bundle_invalid` naming the reason to refuse it. */
export function verifiedConfigBundle(config: Config): VerifiedBundle & { file: string } {
  const { bundle: file, requireSigned, trustKeys, env } = config.specs;
  if (file === undefined) {
    throw new AgentryError('bundle_invalid', 'bundle refused (unsigned): a signed bundle is required but none is given (--bundle / AGENTRY_BUNDLE)', {
      details: { reason: 'unsigned' },
    });
  }
  const keys = trustKeys.map((path) => trustKey(readText(path, 'trusted key'), `trusted key ${path}`));
  const verified = verifyBundle(parseBundle(readText(file, 'bundle'), `bundle ${file}`), { trustKeys: keys, requireSignature: requireSigned, requireEnv: env });
  return { ...verified, file };
}

/** What a process shows of the bundle it loaded (`/readyz`, the start log). */
export function bundleInfo(verified: VerifiedBundle & { file: string }): SpecBundleInfo {
  const { file, hash, signer, approvedBy, env } = verified;
  return { file, hash, ...(signer ? { signer } : {}), ...(approvedBy === undefined ? {} : { approvedBy }), ...(env === undefined ? {} : { env }) };
}

/** Whether this configuration loads its specs from a bundle. */
export function specsFromBundle(config: Config): boolean {
  return config.specs.bundle !== undefined || config.specs.requireSigned || config.specs.env !== undefined;
}

/** Verifies the configured bundle, writes its files to a temporary directory, and calls `load` on it (the directory is removed after). */
export async function withBundleDir<T>(config: Config, load: (dir: string) => Promise<T>): Promise<{ value: T; bundle: SpecBundleInfo }> {
  const verified = verifiedConfigBundle(config);
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bundle-'));
  try {
    for (const [path, content] of Object.entries(verified.bundle.files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const value = await load(dir);
    return { value, bundle: bundleInfo(verified) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
