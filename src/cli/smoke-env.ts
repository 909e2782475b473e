/**
 * `agentry smoke --env-file <file>`, the staging release gate: the deployment's environment file
 * (`KEY=VALUE` lines, as `deploy/systemd/agentry.env.example`) is validated as
 * `agentry config validate` validates a configuration — with the file's variables in place of
 * this process's, production's checks when it says `AGENTRY_ENV=production` — and the keys of
 * the smoke checks are taken from its `AGENTRY_API_KEYS` list (read from `AGENTRY_API_KEYS_FILE`
 * when it names one): an admin (else operator) key for the checks, a viewer key for
 * `viewer-write`, a reviewer key for the human task. The outcome is the `config` check.
 *
 *   const gate = await checkEnvFile({ file: 'staging.env', dir: undefined, cwd });
 *   await runSmoke({ ..., keys: { main: gate.keys.main?.key, ... }, before: [gate.result] });
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { validateConfiguration } from '../app/config-validate.js';
import { loadConfig, type Config } from '../app/config.js';
import { secretFromEnv } from '../app/secret-files.js';
import { configSecrets } from '../app/secrets.js';
import { AgentryError } from '../lib/errors.js';
import { parseApiKeyEntries, type ApiKeyEntry } from '../server/bootstrap-keys.js';
import { plural } from './format.js';
import type { CheckResult } from './smoke-check.js';

export interface EnvFileGate {
  /** The `config` check: FAIL with every error, WARN with the warnings, else PASS; naming the keys chosen. */
  result: CheckResult;
  keys: { main?: ApiKeyEntry; viewer?: ApiKeyEntry; reviewer?: ApiKeyEntry };
  /** Every secret value the file gives (keys, passwords): to mask in what is printed and to look for in answers. */
  secrets: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables whose values are masked wherever the gate prints (besides the configuration's own secrets). */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSW|CREDENTIAL/i;

/**
 * The variables of an environment file: `NAME=VALUE` lines, blank lines and `#` or `;` comments
 * (the subset systemd's `EnvironmentFile=` and `docker --env-file` agree on); a value in matching
 * quotes loses them. A line that is none of these is a problem named by its number, never shown.
 */
export function parseEnvFile(text: string, file: string): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!NAME.test(name)) {
      problems.push(`${file}:${index + 1}: expected NAME=VALUE (a variable name of letters, digits and _)`);
      return;
    }
    const value = line.slice(eq + 1).trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    env[name] = quoted ? (quoted[1] === '"' ? (quoted[2] as string).replace(/\\(["\\])/g, '$1') : (quoted[2] as string)) : value;
  });
  return { env, problems };
}

/** The keys of the checks from the list: admin (else operator) for most, and a viewer and a reviewer key of the same tenant. */
function pickKeys(entries: readonly ApiKeyEntry[]): EnvFileGate['keys'] {
  const main = entries.find((e) => e.grants.includes('admin')) ?? entries.find((e) => e.grants.includes('operator'));
  if (main === undefined) return {};
  const peer = (e: ApiKeyEntry): boolean => e !== main && e.tenantId === main.tenantId;
  const viewer = entries.find((e) => peer(e) && e.grants.includes('viewer') && !e.scopes.has('runs:write'));
  const reviewer = entries.find((e) => peer(e) && e.grants.includes('reviewer'));
  return { main, ...(viewer === undefined ? {} : { viewer }), ...(reviewer === undefined ? {} : { reviewer }) };
}

function keyText(label: string, entry: ApiKeyEntry | undefined, otherwise: string): string {
  return entry === undefined ? `${label} ${otherwise}` : `${label} ${entry.name} (${entry.grants.join(', ')})`;
}

export async function checkEnvFile(options: { file: string; dir: string | undefined; cwd: string }): Promise<EnvFileGate> {
  const started = Date.now();
  const path = resolve(options.cwd, options.file);
  if (!existsSync(path)) throw new AgentryError('invalid_request', `--env-file ${options.file} does not exist`);
  const parsed = parseEnvFile(readFileSync(path, 'utf8'), options.file);
  const env = parsed.env;
  const flags = { projectDir: options.dir };
  const validation = await validateConfiguration({ flags, env, cwd: options.cwd });
  const errors = [...parsed.problems, ...validation.problems.filter((p) => p.severity === 'error').map((p) => p.message)];
  const warnings = validation.problems.filter((p) => p.severity === 'warning').map((p) => p.message);

  const secrets = Object.entries(env).flatMap(([name, value]) => (SECRET_NAME.test(name) && !name.endsWith('_FILE') ? [value] : []));
  let config: Config | undefined;
  try {
    config = loadConfig({ flags, env, cwd: options.cwd });
    secrets.push(...configSecrets(config));
  } catch {
    // validateConfiguration named what is wrong.
  }
  let entries: ApiKeyEntry[] = [];
  try {
    // As the server reads it (AGENTRY_API_KEYS or its _FILE), also when another option is wrong.
    entries = parseApiKeyEntries(config?.server.apiKeys ?? secretFromEnv(env, 'AGENTRY_API_KEYS').value);
  } catch (error) {
    const problems = (error as AgentryError).details as { problems?: string[] } | undefined;
    errors.push(...(problems?.problems ?? []).map((problem) => `AGENTRY_API_KEYS ${problem}`));
  }
  secrets.push(...entries.map((entry) => entry.key));
  const keys = pickKeys(entries);

  const where = `${options.file} (${validation.env}, project ${validation.dir})`;
  const keysText = [
    keyText('the checks', keys.main, 'with --key or AGENTRY_API_KEY (no admin or operator key in AGENTRY_API_KEYS)'),
    keyText('viewer-write', keys.viewer, 'skipped unless --viewer-key (no viewer key)'),
    keyText('human', keys.reviewer, 'with the main key (no reviewer key)'),
  ].join(', ');
  const duration_ms = Date.now() - started;
  const warned = warnings.length === 0 ? '' : `; ${plural(warnings.length, 'warning')}: ${warnings.join('; ')}`;
  if (errors.length > 0) {
    const detail = `${where}: ${plural(errors.length, 'error')} serve would refuse to start with: ${errors.join('; ')}${warned}; keys: ${keysText}`;
    return { result: { name: 'config', status: 'fail', detail, duration_ms, code: 'invalid_request' }, keys, secrets };
  }
  const detail = `${where} would start${warned}; keys from AGENTRY_API_KEYS: ${keysText}`;
  return { result: { name: 'config', status: warnings.length > 0 ? 'warn' : 'pass', detail, duration_ms }, keys, secrets };
}
