/**
 * Encryption of backup files with a passphrase: scrypt derives 64 bytes from the passphrase and
 * a random salt; the first 32 are the AES-256-GCM key, the SHA-256 of the other 32 is stored in
 * the header (`key_check`) so a wrong passphrase is told apart from a damaged file at once. The
 * header itself (salt, parameters, IV, everything else in it) is the cipher's additional
 * authenticated data, and the 16-byte tag ends the file: changing any byte of the header or the
 * body, or cutting the file short, fails authentication.
 *
 *   const { encryption, key } = await newEncryption(passphrase);   // header.encryption = encryption
 *   pipeline(body, encryptStream(key, encryption, headerLine), file);
 *   …
 *   const key = await keyFor(passphrase, header.encryption);       // backup_invalid: wrong passphrase
 *   pipeline(file, decryptStream(key, header.encryption, headerLine), …);
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { Transform } from 'node:stream';
import { AgentryError } from '../lib/errors.js';

export interface EncryptionHeader {
  cipher: 'aes-256-gcm';
  kdf: { name: 'scrypt'; n: number; r: number; p: number; salt: string };
  /** Base64 of the 12-byte GCM nonce. */
  iv: string;
  /** Hex SHA-256 of the derived check key. */
  key_check: string;
}

/** scrypt's cost: 2^17 × 8 × 128 bytes = 128 MiB of memory and a fraction of a second per derivation. */
const KDF = { n: 2 ** 17, r: 8, p: 1 } as const;
const TAG_BYTES = 16;
/** Passphrases shorter than this are refused. */
export const MIN_PASSPHRASE_LENGTH = 12;

function derive(passphrase: string, salt: Buffer, params: { n: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 64, { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const checkOf = (derived: Buffer): Buffer => createHash('sha256').update(derived.subarray(32)).digest();

export function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new AgentryError('invalid_request', `the backup passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters long`);
  }
}

/** A fresh salt and IV, and the key derived from `passphrase` with them. */
export async function newEncryption(passphrase: string): Promise<{ encryption: EncryptionHeader; key: Buffer }> {
  checkPassphrase(passphrase);
  const salt = randomBytes(16);
  const derived = await derive(passphrase, salt, KDF);
  return {
    encryption: {
      cipher: 'aes-256-gcm',
      kdf: { name: 'scrypt', ...KDF, salt: salt.toString('base64') },
      iv: randomBytes(12).toString('base64'),
      key_check: checkOf(derived).toString('hex'),
    },
    key: derived.subarray(0, 32),
  };
}

/** What a header may ask of scrypt: enough for any file this build writes, not enough to exhaust memory. */
export function encryptionProblem(value: unknown): string | undefined {
  const e = value as Partial<EncryptionHeader> | null;
  if (typeof e !== 'object' || e === null) return 'encryption must be an object or null';
  if (e.cipher !== 'aes-256-gcm') return `unknown cipher ${JSON.stringify(e.cipher)}`;
  const kdf = e.kdf;
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'scrypt') return 'unknown key derivation (expected scrypt)';
  const powerOfTwo = Number.isInteger(kdf.n) && kdf.n >= 2 ** 14 && kdf.n <= 2 ** 20 && (kdf.n & (kdf.n - 1)) === 0;
  const ranged = Number.isInteger(kdf.r) && kdf.r >= 1 && kdf.r <= 16 && Number.isInteger(kdf.p) && kdf.p >= 1 && kdf.p <= 4;
  // scrypt needs about 128 × n × r bytes: at most 512 MiB.
  if (!powerOfTwo || !ranged || kdf.n * kdf.r > 2 ** 22) {
    return 'scrypt parameters out of range';
  }
  if (typeof kdf.salt !== 'string' || Buffer.from(kdf.salt, 'base64').length < 16) return 'scrypt salt missing';
  if (typeof e.iv !== 'string' || Buffer.from(e.iv, 'base64').length !== 12) return 'GCM nonce missing';
  if (typeof e.key_check !== 'string' || !/^[0-9a-f]{64}$/.test(e.key_check)) return 'key check missing';
  return undefined;
}

/** The key of an encrypted file; `backup_invalid` when `passphrase` is not the one it was made with. */
export async function keyFor(passphrase: string, encryption: EncryptionHeader): Promise<Buffer> {
  const derived = await derive(passphrase, Buffer.from(encryption.kdf.salt, 'base64'), encryption.kdf);
  if (!timingSafeEqual(checkOf(derived), Buffer.from(encryption.key_check, 'hex'))) {
    throw new AgentryError('backup_invalid', 'wrong passphrase: the backup was encrypted with another one (or its header was changed)');
  }
  return derived.subarray(0, 32);
}

/** Encrypts what passes through; the authentication tag follows the last byte. */
export function encryptStream(key: Buffer, encryption: EncryptionHeader, headerLine: Buffer): Transform {
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(encryption.iv, 'base64'));
  cipher.setAAD(headerLine);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, cipher.update(chunk));
    },
    flush(done) {
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
}

/**
 * Decrypts what passes through, holding back the last 16 bytes (the tag). Plaintext flows out
 * before the tag is checked at the end: a reader must treat everything as unverified until the
 * stream ends without error (restores load in one transaction, rolled back on that error).
 */
export function decryptStream(key: Buffer, encryption: EncryptionHeader, headerLine: Buffer): Transform {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(encryption.iv, 'base64'));
  decipher.setAAD(headerLine);
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const all = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
      const cut = Math.max(0, all.length - TAG_BYTES);
      tail = Buffer.from(all.subarray(cut));
      done(null, cut > 0 ? decipher.update(all.subarray(0, cut)) : undefined);
    },
    flush(done) {
      if (tail.length < TAG_BYTES) return done(new AgentryError('backup_invalid', 'the backup is truncated: its authentication tag is missing'));
      decipher.setAuthTag(tail);
      try {
        done(null, decipher.final());
      } catch (error) {
        done(
          new AgentryError('backup_invalid', 'the backup fails authentication: it was changed or cut short after it was written', {
            cause: error,
          }),
        );
      }
    },
  });
}
