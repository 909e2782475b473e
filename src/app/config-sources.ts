/**
 * Where an option's raw value comes from, highest precedence first: its flag, its `AGENTRY_*`
 * variable (or `<VAR>_FILE` for a secret), a deprecated former name of that variable, the profile of `agentry.yaml` named by
 * `AGENTRY_PROFILE`, the file's top level, its default. Each candidate remembers how the user
 * wrote it, so that a problem names the place to fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { secretFromEnv } from './secret-files.js';
import type { ConfigDeprecation } from './config-deprecations.js';
import type { OptionSpec } from './config-option.js';
import { CONFIG_OPTIONS, type ConfigFlags, type ConfigSource, type OptionKey } from './config-options.js';

/** One option's raw value and where it came from. */
export interface Candidate {
  value: unknown;
  source: ConfigSource;
  /** How the user wrote it, for messages: `AGENTRY_CONCURRENCY`, `agentry.yaml engine.concurrency`. */
  origin: string;
  /** The option's deprecated aliases that were set (used, or ignored for a higher-precedence value). */
  deprecated?: ConfigDeprecation[];
}

/** `agentry.yaml`'s top-level settings and the profile merged over them. */
export interface YamlLayers {
  base: unknown;
  profile?: unknown;
  profileName?: string;
}

/** The raw input besides `agentry.yaml`: the command's flags and the environment. */
export interface RawInput {
  flags: ConfigFlags;
  env: NodeJS.ProcessEnv;
}

/** The value of option `key` from the first place that gives one; a bad `<VAR>_FILE` adds to `problems`. */
export function pickOption(key: OptionKey, input: RawInput, yaml: YamlLayers, problems: string[]): Candidate {
  const spec: OptionSpec = CONFIG_OPTIONS[key];
  const flag = input.flags[key];
  const given: Candidate | undefined =
    flag !== undefined ? { value: flag, source: 'flag', origin: spec.flag?.split(' ')[0] ?? key } : fromEnv(spec, spec.env, input.env, problems);
  const deprecated: ConfigDeprecation[] = [];
  let chosen = given;
  for (const alias of spec.deprecatedAliases ?? []) {
    const candidate = fromEnv(spec, alias.env, input.env, problems);
    if (candidate === undefined) continue;
    deprecated.push({ variable: candidate.origin, replacement: spec.env, since: alias.since, ignored: chosen !== undefined });
    chosen ??= candidate;
  }
  const picked = chosen ?? fromYaml(key, spec, yaml);
  return deprecated.length > 0 ? { ...picked, deprecated } : picked;
}

/** Variable `name` (or `name_FILE` for a secret option) when set; a bad `_FILE` adds to `problems`. */
function fromEnv(spec: OptionSpec, name: string, env: NodeJS.ProcessEnv, problems: string[]): Candidate | undefined {
  if (spec.secret === true) {
    const secret = secretFromEnv(env, name);
    if (secret.problem !== undefined) problems.push(secret.problem);
    return secret.value === undefined ? undefined : { value: secret.value, source: 'env', origin: secret.fromFile ? `${name}_FILE` : name };
  }
  const value = env[name];
  return value === undefined || value === '' ? undefined : { value, source: 'env', origin: name };
}

function fromYaml(key: OptionKey, spec: OptionSpec, yaml: YamlLayers): Candidate {
  if (spec.yaml !== undefined) {
    const fromProfile = yaml.profile === undefined ? undefined : getPath(yaml.profile, spec.yaml);
    if (fromProfile !== undefined) return { value: fromProfile, source: 'profile', origin: `agentry.yaml profiles.${yaml.profileName}.${spec.yaml}` };
    const fromBase = getPath(yaml.base, spec.yaml);
    if (fromBase !== undefined) return { value: fromBase, source: 'agentry.yaml', origin: `agentry.yaml ${spec.yaml}` };
  }
  return { value: spec.default, source: 'default', origin: `default of ${key}` };
}

/** How a problem with option `key` names it: as the user wrote it, or by its key for a default. */
export function describeOrigin(key: OptionKey, candidate: Candidate): string {
  return candidate.source === 'default' ? key : candidate.origin;
}

/** The project's `agentry.yaml` and its profile `profileName`; a missing file or profile, or bad YAML, adds to `problems`. */
export function readProjectYaml(projectDir: string, profileName: string | undefined, problems: string[]): YamlLayers {
  const file = join(projectDir, 'agentry.yaml');
  if (!existsSync(file)) {
    if (profileName !== undefined) problems.push(`AGENTRY_PROFILE: profile '${profileName}' is set but ${file} does not exist`);
    return { base: {} };
  }
  let base: unknown;
  try {
    base = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (error) {
    problems.push(`agentry.yaml: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (run \`agentry validate\`)`);
    return { base: {} };
  }
  if (profileName === undefined) return { base };
  const profiles = getPath(base, 'profiles');
  const profile = getPath(profiles, profileName);
  if (profile === undefined) {
    const known = isRecord(profiles) ? Object.keys(profiles) : [];
    problems.push(`AGENTRY_PROFILE: profile '${profileName}' is not in agentry.yaml (profiles: ${known.length > 0 ? known.join(', ') : 'none'})`);
  }
  return { base, profile, profileName };
}

function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (!isRecord(current)) return undefined;
    current = current[part];
  }
  return current ?? undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
