/**
 * CLI profiles: named servers (URL and API key, or the variable holding the key) in the user's
 * config directory, `$XDG_CONFIG_HOME/agentry/profiles.json` (`~/.config/agentry/…` without
 * it), mode 0600 in a 0700 directory. The file is versioned: one written by an older schema is
 * upgraded in place the first time it is read, its original kept beside it as
 * `profiles.json.v<N>.bak`; one written by a newer agentry is refused, never rewritten.
 *
 * Which profile a command uses: `--profile <name>`, else `AGENTRY_PROFILE_NAME` — both win over
 * `AGENTRY_URL` — else, when `AGENTRY_URL` is not set, the current one (`agentry profiles use`).
 * The profile becomes the `AGENTRY_URL` / `AGENTRY_API_KEY` the remote commands read
 * (`withProfile`), so nothing else in the CLI knows about profiles.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AgentryError } from '../lib/errors.js';

/** The schema this build writes. */
export const PROFILES_VERSION = 2;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Profile {
  url: string;
  /** The API key itself (the file is 0600) … */
  key?: string;
  /** … or the environment variable holding it, read when the profile is used. */
  key_env?: string;
}

export interface ProfilesFile {
  version: typeof PROFILES_VERSION;
  /** The profile used when none is named and AGENTRY_URL is not set. */
  current: string | null;
  profiles: Record<string, Profile>;
}

/** What upgrading an older file did, for a note on stderr. */
export interface ProfilesUpgrade {
  from: number;
  backup: string;
}

/** `$XDG_CONFIG_HOME/agentry/profiles.json`, or `~/.config/agentry/profiles.json`. */
export function profilesPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.config');
  return join(base, 'agentry', 'profiles.json');
}

/** Checks a profile name; `invalid_request` otherwise. */
export function assertProfileName(name: string): void {
  if (!NAME.test(name))
    throw new AgentryError('invalid_request', `profile name '${name}' is invalid: letters, digits, _ . - (at most 64), starting with a letter or digit`);
}

/** Checks a profile's fields; `invalid_request` naming the problem. */
export function checkProfile(profile: Profile): void {
  if (!/^https?:\/\/[^/\s]+/.test(profile.url)) throw new AgentryError('invalid_request', `--url must be an http(s) URL, got '${profile.url}'`);
  if (profile.key !== undefined && profile.key_env !== undefined) throw new AgentryError('invalid_request', 'give --key or --key-env, not both');
  if (profile.key_env !== undefined && !ENV_NAME.test(profile.key_env))
    throw new AgentryError('invalid_request', `--key-env must be a variable name, got '${profile.key_env}'`);
}

/**
 * The profiles file (empty when there is none). An older schema is upgraded and written back,
 * with the original kept as a backup; `upgraded` says so.
 */
export function readProfiles(env: NodeJS.ProcessEnv): { file: ProfilesFile; path: string; upgraded?: ProfilesUpgrade } {
  const path = profilesPath(env);
  if (!existsSync(path)) return { file: { version: PROFILES_VERSION, current: null, profiles: {} }, path };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AgentryError('invalid_request', `${path} is not valid JSON (${(error as Error).message}); fix or remove it`, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AgentryError('invalid_request', `${path} is not a profiles file (not a JSON object)`);
  const data = raw as Record<string, unknown>;
  const version = data.version === undefined ? 1 : data.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new AgentryError('invalid_request', `${path}: version must be a whole number, got ${JSON.stringify(version)}`);
  if (version > PROFILES_VERSION) {
    throw new AgentryError(
      'invalid_request',
      `${path} is version ${version}, written by a newer agentry (this one reads up to ${PROFILES_VERSION}); upgrade agentry`,
    );
  }
  if (version === PROFILES_VERSION) return { file: validated(data, path), path };
  const file = validated(upgrade(data, version), path);
  const backup = `${path}.v${version}.bak`;
  copyFileSync(path, backup);
  chmodSync(backup, 0o600);
  writeProfiles(env, file);
  return { file, path, upgraded: { from: version, backup } };
}

/** Writes the file atomically (a temporary file renamed over it), mode 0600 in a 0700 directory. */
export function writeProfiles(env: NodeJS.ProcessEnv, file: ProfilesFile): string {
  const path = profilesPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/**
 * Version 1 (agentry before profiles were versioned): `{ "default": name, "profiles": { name:
 * { "base_url", "api_key" } } }`. Version 2 renames them `current`, `url`, `key` and adds
 * `key_env` (the key read from a variable).
 */
function upgrade(data: Record<string, unknown>, from: number): Record<string, unknown> {
  let current = data;
  for (let version = from; version < PROFILES_VERSION; version++) {
    if (version === 1) {
      const old = (current.profiles ?? {}) as Record<string, Record<string, unknown>>;
      current = {
        version: 2,
        current: current.default ?? null,
        profiles: Object.fromEntries(
          Object.entries(old).map(([name, p]) => [name, { url: p.base_url ?? p.url, ...(p.api_key === undefined ? {} : { key: p.api_key }) }]),
        ),
      };
    }
  }
  return current;
}

function validated(data: Record<string, unknown>, path: string): ProfilesFile {
  const profiles = data.profiles ?? {};
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles))
    throw new AgentryError('invalid_request', `${path}: profiles must be an object`);
  const out: Record<string, Profile> = {};
  for (const [name, value] of Object.entries(profiles as Record<string, unknown>)) {
    const p = value as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p.url !== 'string') throw new AgentryError('invalid_request', `${path}: profile '${name}' has no url`);
    out[name] = {
      url: p.url,
      ...(typeof p.key === 'string' ? { key: p.key } : {}),
      ...(typeof p.key_env === 'string' ? { key_env: p.key_env } : {}),
    };
  }
  const current = typeof data.current === 'string' && out[data.current] !== undefined ? data.current : null;
  return { version: PROFILES_VERSION, current, profiles: out };
}

/** The profile's key: stored, or read from its variable (`invalid_request` when that is unset). */
export function profileKey(name: string, profile: Profile, env: NodeJS.ProcessEnv): string | undefined {
  if (profile.key_env === undefined) return profile.key;
  const value = env[profile.key_env]?.trim();
  if (!value) throw new AgentryError('invalid_request', `profile '${name}' reads its key from ${profile.key_env}, which is not set`);
  return value;
}

/** The profile named (or the current one) with `not_found` listing the known ones for an unknown name. */
export function pickProfile(file: ProfilesFile, name: string, path: string): Profile {
  const profile = file.profiles[name];
  if (profile !== undefined) return profile;
  const known = Object.keys(file.profiles);
  throw new AgentryError(
    'not_found',
    `no profile '${name}' in ${path} (${known.length === 0 ? 'none yet: agentry login --profile <name> --url … --key …' : `profiles: ${known.join(', ')}`})`,
  );
}

/** Commands that talk to a server when AGENTRY_URL is set: the ones a profile applies to. */
const REMOTE_COMMANDS = new Set([
  'run',
  'runs',
  'events',
  'tasks',
  'signal',
  'schedules',
  'audit',
  'keys',
  'limits',
  'credentials',
  'workers',
  'maintenance',
  'admin',
  'tools',
  'smoke',
  'status',
]);

/**
 * `argv` without a `--profile <name>` of a remote command, and the environment with the chosen
 * profile's `AGENTRY_URL` / `AGENTRY_API_KEY` (unchanged when no profile applies). Notes (an
 * upgraded file) go to `note`. `commandOf` names the command the arguments invoke
 * (`command-table.ts`'s `invokedCommand`, passed in: the command table loads this module's commands).
 */
export function withProfile(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  note: (text: string) => void,
  commandOf: (args: readonly string[]) => string | undefined,
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const rest: string[] = [];
  let flag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--profile') {
      flag = argv[++i];
      if (flag === undefined || flag.startsWith('-')) throw new AgentryError('invalid_request', '--profile needs a profile name');
    } else if (arg.startsWith('--profile=')) flag = arg.slice('--profile='.length);
    else rest.push(arg);
  }
  const command = commandOf(rest);
  // `login --profile` and `profiles` name profiles themselves; local commands take none.
  if (command === undefined || !REMOTE_COMMANDS.has(command)) return { argv: [...argv], env };
  const named = flag ?? (env.AGENTRY_PROFILE_NAME?.trim() || undefined);
  if (named === undefined && env.AGENTRY_URL?.trim()) return { argv: rest, env };
  if (named === undefined && !existsSync(profilesPath(env))) return { argv: rest, env };
  const { file, path, upgraded } = readProfiles(env);
  if (upgraded) note(`note: upgraded ${path} from version ${upgraded.from} to ${PROFILES_VERSION} (the original is kept as ${upgraded.backup})\n`);
  const name = named ?? file.current;
  if (name === null) return { argv: rest, env };
  const profile = pickProfile(file, name, path);
  const key = profileKey(name, profile, env);
  const chosen: NodeJS.ProcessEnv = { ...env, AGENTRY_URL: profile.url };
  if (key === undefined) delete chosen.AGENTRY_API_KEY;
  else chosen.AGENTRY_API_KEY = key;
  return { argv: rest, env: chosen };
}
