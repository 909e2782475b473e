/**
 * The secrets of managed API keys: `agk_<id>_<secret>`, where `<id>` is the 26 characters of the
 * key's id after `key_` and `<secret>` is 32 random bytes in base64url (43 characters). The id
 * part finds the key; the whole string's SHA-256 is what is stored and compared. Secrets are made
 * here and returned once; nothing keeps them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { newId } from '../lib/ids.js';

/** What every managed key's secret starts with (a bootstrap key never does: it is told apart by this). */
export const KEY_SECRET_PREFIX = 'agk_';

const SECRET = /^agk_([0-9a-z]{26})_[A-Za-z0-9_-]{43}$/;
const KEY_ID = /^key_[0-9a-z]{26}$/;
const PUBLIC_PREFIX = /^agk_([0-9a-z]{26})$/;

export interface NewKeySecret {
  id: string;
  /** `agk_<id part>`: shown in listings, safe to print. */
  prefix: string;
  secret: string;
  hash: string;
}

/** SHA-256 (hex) of a presented key. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newKeySecret(now: number): NewKeySecret {
  const id = newId('key', now);
  const prefix = `${KEY_SECRET_PREFIX}${id.slice('key_'.length)}`;
  const secret = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { id, prefix, secret, hash: secretHash(secret) };
}

/** The key id a presented secret names, or undefined when it is not shaped like a managed key. */
export function keyIdOfSecret(secret: string): string | undefined {
  const match = SECRET.exec(secret);
  return match ? `key_${match[1]}` : undefined;
}

/** A key id given as `key_…` or as a secret's public prefix `agk_…`; undefined for anything else (a name). */
export function keyIdOfRef(ref: string): string | undefined {
  if (KEY_ID.test(ref)) return ref;
  const match = PUBLIC_PREFIX.exec(ref);
  return match ? `key_${match[1]}` : undefined;
}
