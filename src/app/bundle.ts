/**
 * Signed spec bundles: a project's spec files packed into one JSON file with a manifest of
 * their hashes, optionally signed with an ed25519 key, so a server can refuse specs nobody it
 * trusts approved (`serve --bundle … --require-signed-specs --trust-key pub.pem`).
 *
 * ```json
 * { "format": "agentry-bundle/1",
 *   "manifest": { "created_at": "…", "files": [{ "path": "workflows/hello.yaml", "sha256": "…" }],
 *                 "approved_by": "alice", "env": "prod" },
 *   "files": { "workflows/hello.yaml": "<content>" },
 *   "signature": { "alg": "ed25519", "key_id": "sha256:…", "signer": "release", "value": "<base64>" } }
 * ```
 *
 * The signature covers the canonical JSON of `{ format, manifest }` (keys sorted, files sorted
 * by path); each file's content is bound to it by its sha256 in the manifest. Signing records
 * who approved the specs (`approved_by`) and for which environment (`env`) in the manifest, so
 * the signature covers them too. The bundle's hash (`bundleHash`) is the sha256 of those bytes.
 */
import { createHash, createPrivateKey, createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AgentryError } from '../lib/errors.js';

export const BUNDLE_FORMAT = 'agentry-bundle/1';

export interface BundleManifest {
  created_at: string;
  files: { path: string; sha256: string }[];
  /** Who approved these specs (`bundle sign --approved-by`; signed). */
  approved_by?: string;
  /** The environment they are approved for (`bundle sign --env`; signed). */
  env?: string;
}

export interface BundleSignature {
  alg: 'ed25519';
  /** `sha256:<hex>` of the public key (DER, SubjectPublicKeyInfo). */
  key_id: string;
  signer: string;
  /** base64 */
  value: string;
}

export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  manifest: BundleManifest;
  files: Record<string, string>;
  signature?: BundleSignature;
}

/** Why a bundle was refused (`details.reason` of `bundle_invalid`). */
export const BUNDLE_REFUSALS = [
  'malformed',
  'unsafe_path',
  'file_missing',
  'file_mismatch',
  'file_not_in_manifest',
  'unsigned',
  'untrusted_key',
  'bad_signature',
  'wrong_env',
] as const;
export type BundleRefusal = (typeof BUNDLE_REFUSALS)[number];

function refuse(reason: BundleRefusal, message: string): AgentryError {
  return new AgentryError('bundle_invalid', `bundle refused (${reason}): ${message}`, { details: { reason } });
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The spec files `loadProject` reads: `agentry.y(a)ml`, `gateway.y(a)ml`, and `<workflows|agents|tools>/*.y(a)ml`. */
const TOP_LEVEL = /^(agentry|gateway)\.ya?ml$/;
const SPEC_DIRS = ['workflows', 'agents', 'tools'] as const;
const SAFE_PATH = /^(?:(?:agentry|gateway)\.ya?ml|(?:workflows|agents|tools)\/[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml)$/;

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Packs the spec files of the project in `dir` (unsigned). */
export function buildBundle(dir: string, createdAt: Date = new Date()): Bundle {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new AgentryError('invalid_request', `project directory ${dir} does not exist`);
  const paths = [
    ...listFiles(dir).filter((name) => TOP_LEVEL.test(name)),
    ...SPEC_DIRS.flatMap((sub) =>
      listFiles(join(dir, sub))
        .filter((name) => SAFE_PATH.test(`${sub}/${name}`))
        .map((name) => `${sub}/${name}`),
    ),
  ].sort();
  const files: Record<string, string> = {};
  for (const path of paths) files[path] = readFileSync(join(dir, path), 'utf8');
  return {
    format: BUNDLE_FORMAT,
    manifest: { created_at: createdAt.toISOString(), files: paths.map((path) => ({ path, sha256: sha256(files[path] ?? '') })) },
    files,
  };
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bytes the signature covers. */
function signedBytes(bundle: Pick<Bundle, 'format' | 'manifest'>): Buffer {
  return Buffer.from(canonicalJson({ format: bundle.format, manifest: bundle.manifest }), 'utf8');
}

/** `sha256:<hex>` of the manifest as signed: names exactly these specs. */
export function bundleHash(bundle: Pick<Bundle, 'format' | 'manifest'>): string {
  return `sha256:${sha256(signedBytes(bundle))}`;
}

/** `sha256:<hex>` of an ed25519 public key (DER SubjectPublicKeyInfo). */
export function keyId(publicKey: KeyObject): string {
  return `sha256:${sha256(publicKey.export({ type: 'spki', format: 'der' }))}`;
}

function ed25519Key(pem: string, label: string, kind: 'private' | 'public'): KeyObject {
  if (kind === 'public' && pem.includes('PRIVATE KEY')) {
    throw new AgentryError('invalid_request', `${label} is a private key; give the server the public key only (openssl pkey -pubout)`);
  }
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    const hint = kind === 'private' && pem.includes('PUBLIC KEY') ? ' (it is a public key; signing needs the private key)' : '';
    throw new AgentryError('invalid_request', `${label} is not a PEM ${kind} key${hint}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AgentryError('invalid_request', `${label} is a ${key.asymmetricKeyType ?? 'unknown'} key, not ed25519`);
  return key;
}

/** Who approved a bundle and for which environment, recorded in its manifest when it is signed. */
export interface Approval {
  approvedBy: string;
  env?: string | undefined;
}

/** Names and environments: 1–128 printable characters without control characters. */
const APPROVAL_TEXT = /^[^\p{Cc}]{1,128}$/u;

/**
 * The bundle with a signature by `privateKeyPem` (replacing any earlier one), its manifest
 * recording `approval` (replacing an earlier one, which the old signature covered). Checks the
 * bundle first.
 */
export function signBundle(bundle: Bundle, privateKeyPem: string, signer: string, approval?: Approval): Bundle {
  verifyBundle(bundle, { trustKeys: [] });
  for (const [label, text] of [
    ['the approver', approval?.approvedBy],
    ['the environment', approval?.env],
  ] as const) {
    if (text !== undefined && !APPROVAL_TEXT.test(text))
      throw new AgentryError('invalid_request', `${label} must be 1–128 characters without control characters`);
  }
  const { approved_by: _approvedBy, env: _env, ...rest } = bundle.manifest;
  const manifest: BundleManifest = {
    ...rest,
    ...(approval === undefined ? {} : { approved_by: approval.approvedBy }),
    ...(approval?.env === undefined ? {} : { env: approval.env }),
  };
  const key = ed25519Key(privateKeyPem, 'the signing key', 'private');
  const value = signBytes(null, signedBytes({ format: bundle.format, manifest }), key).toString('base64');
  return { ...bundle, manifest, signature: { alg: 'ed25519', key_id: keyId(createPublicKey(key)), signer, value } };
}

/** A trusted public key, from its PEM text. */
export function trustKey(pem: string, label: string): KeyObject {
  return ed25519Key(pem, label, 'public');
}

export interface VerifyOptions {
  /** Public keys a signature may be by. */
  trustKeys: readonly KeyObject[];
  /** Refuse a bundle that is not signed by one of `trustKeys`. */
  requireSignature?: boolean;
  /** Refuse a bundle whose manifest is not approved for this environment (`wrong_env`). */
  requireEnv?: string | undefined;
}

export interface VerifiedBundle {
  bundle: Bundle;
  hash: string;
  /** Set when the signature was checked against a trusted key. */
  signer?: { name: string; keyId: string };
  /** Who approved it and for which environment, as its manifest records (signed when `signer` is set). */
  approvedBy?: string;
  env?: string;
}

/** Parses a bundle file's text; throws `bundle_invalid` (`malformed`) on anything not shaped like one. */
export function parseBundle(text: string, label = 'bundle'): Bundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw refuse('malformed', `${label} is not JSON`);
  }
  const b = value as Partial<Bundle> | null;
  const ok =
    b !== null &&
    typeof b === 'object' &&
    b.format === BUNDLE_FORMAT &&
    typeof b.manifest?.created_at === 'string' &&
    Array.isArray(b.manifest.files) &&
    b.manifest.files.every((f) => typeof f?.path === 'string' && typeof f.sha256 === 'string') &&
    (b.manifest.approved_by === undefined || typeof b.manifest.approved_by === 'string') &&
    (b.manifest.env === undefined || typeof b.manifest.env === 'string') &&
    typeof b.files === 'object' &&
    b.files !== null &&
    Object.values(b.files).every((c) => typeof c === 'string') &&
    (b.signature === undefined ||
      (b.signature.alg === 'ed25519' && [b.signature.key_id, b.signature.signer, b.signature.value].every((s) => typeof s === 'string')));
  if (!ok) throw refuse('malformed', `${label} is not an ${BUNDLE_FORMAT} file`);
  return b as Bundle;
}

/**
 * Checks every file against the manifest and, when signed (or `requireSignature`), the signature
 * against the trusted keys. Throws `bundle_invalid` naming the first reason to refuse.
 */
export function verifyBundle(bundle: Bundle, options: VerifyOptions): VerifiedBundle {
  const listed = new Set<string>();
  for (const { path, sha256: expected } of bundle.manifest.files) {
    if (!SAFE_PATH.test(path))
      throw refuse('unsafe_path', `'${path}' is not a spec file path (agentry.yaml, gateway.yaml, workflows|agents|tools/<name>.yaml)`);
    if (listed.has(path)) throw refuse('malformed', `'${path}' is listed twice in the manifest`);
    listed.add(path);
    const content = Object.hasOwn(bundle.files, path) ? bundle.files[path] : undefined;
    if (content === undefined) throw refuse('file_missing', `'${path}' is in the manifest but not in the bundle`);
    if (sha256(content) !== expected) throw refuse('file_mismatch', `the content of '${path}' does not match its sha256 in the manifest`);
  }
  for (const path of Object.keys(bundle.files)) {
    if (!listed.has(path)) throw refuse('file_not_in_manifest', `'${path}' is in the bundle but not in the manifest`);
  }
  const hash = bundleHash(bundle);
  const { approved_by: approvedBy, env } = bundle.manifest;
  const approval = { ...(approvedBy === undefined ? {} : { approvedBy }), ...(env === undefined ? {} : { env }) };
  const { signature } = bundle;
  let signer: VerifiedBundle['signer'];
  if (signature === undefined) {
    if (options.requireSignature) throw refuse('unsigned', 'the bundle is not signed (sign it with `agentry bundle sign --key <private.pem>`)');
  } else if (options.trustKeys.length === 0) {
    if (options.requireSignature) throw refuse('untrusted_key', 'no trusted key is configured (--trust-key / AGENTRY_TRUST_KEYS)');
  } else {
    const key = options.trustKeys.find((k) => keyId(k) === signature.key_id);
    if (key === undefined) throw refuse('untrusted_key', `signed by '${signature.signer}' with key ${signature.key_id}, which is not a trusted key`);
    if (!verifyBytes(null, signedBytes(bundle), key, Buffer.from(signature.value, 'base64'))) {
      throw refuse('bad_signature', `the signature by '${signature.signer}' does not match the manifest (edited after signing?)`);
    }
    signer = { name: signature.signer, keyId: signature.key_id };
  }
  if (options.requireEnv !== undefined && env !== options.requireEnv) {
    throw refuse(
      'wrong_env',
      env === undefined
        ? `the bundle is approved for no environment; this server requires '${options.requireEnv}' (sign it with --env ${options.requireEnv})`
        : `the bundle is approved for '${env}'; this server requires '${options.requireEnv}'`,
    );
  }
  return { bundle, hash, ...(signer ? { signer } : {}), ...approval };
}
