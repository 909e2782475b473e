/**
 * The support bundle's redactor: everything the process's own redactor knows (the
 * configuration's keys and URL credentials, the project's declared secrets and provider keys),
 * and — since a bundle leaves the host — whatever else in the environment could be secret: the
 * value of every variable whose name says it is a credential, the content of every file a
 * `NAME_FILE` variable names, and the TLS private key. Known values are masked in every form
 * (plain, URL-encoded, JSON-escaped, base64), and tokens shaped like keys (`Bearer …`, `sk-…`,
 * `api_key=…`, `token=…`, `"password": …`) are masked even when unknown.
 */
import { readFileSync, statSync } from 'node:fs';
import { REDACTED, Redactor } from '../lib/redact.js';
import type { Config } from './config.js';
import type { Project } from './bootstrap.js';
import { configSecrets, projectSecrets } from './secrets.js';

/** Names of variables whose value is a credential by convention. */
const SECRET_NAME = /(KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH|COOKIE|SIGNATURE|DSN)/i;
/** Files larger than this are not secrets (a key or a password is small): not read. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** A small file's text, or undefined when it cannot be read or is too large to be a secret. */
function smallFile(path: string): string | undefined {
  try {
    if (statSync(path).size > MAX_SECRET_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A secret file's value as it is used (one trailing newline removed), and each of its lines (a PEM's body). */
function fileValues(text: string): string[] {
  const value = text.replace(/\r?\n$/, '');
  return [value, ...value.split(/\r?\n/).map((line) => line.trim())];
}

/** Values in the environment that may be secret: credential-named variables and the files `*_FILE` names. */
export function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (name.endsWith('_FILE')) {
      const text = smallFile(value);
      if (text !== undefined) found.push(...fileValues(text));
    } else if (SECRET_NAME.test(name)) found.push(value);
  }
  return found;
}

/**
 * `name=value` and `"name": "value"` pairs whose name says the value is a credential (`token=…`,
 * `password: …`): masked in a bundle even when the value is unknown (a log line's).
 */
const SECRET_PAIR =
  /\b((?:[a-z0-9]+[_-])*(?:token|secret|password|passwd|passphrase|api[_-]?key|access[_-]?key|private[_-]?key))(["']?\s*[:=]\s*["']?)[^\s"',}&]{4,}/gi;

/** Masks what `SECRET_PAIR` finds (the name and separator stay). */
export function maskSecretPairs(text: string): string {
  return text.replace(SECRET_PAIR, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
}

/** The bundle's redactor (see the module comment); `project` when one loaded. */
export function bundleRedactor(config: Config, env: NodeJS.ProcessEnv, project: Project | undefined): Redactor {
  const redactor = new Redactor({ secrets: configSecrets(config), pii: [...new Set([...config.redactPii, 'bearer' as const])] });
  if (project) redactor.add(projectSecrets(project, env));
  redactor.add(environmentSecrets(env));
  const keyFile = config.server.tls?.keyFile;
  const key = keyFile === undefined ? undefined : smallFile(keyFile);
  if (key !== undefined) redactor.add(fileValues(key));
  return redactor;
}
