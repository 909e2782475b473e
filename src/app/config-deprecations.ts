/**
 * DEP-24, the semver contract of the environment variables: a renamed variable keeps its old
 * name as a deprecated alias (`deprecatedAliases` of its option) for at least one minor version,
 * and a variable leaves only at a major version. Here: the warning an alias in use gives, the
 * list of every variable the options table reads (`docs/env-vars.json` keeps the last
 * release's), and the check of that list against the table.
 */
import type { Logger } from 'pino';
import type { OptionSpec } from './config-option.js';

/** A deprecated alias that was set, and the variable that replaces it. */
export interface ConfigDeprecation {
  /** The old variable as it was set (`AGENTRY_OLD`, or `AGENTRY_OLD_FILE`). */
  variable: string;
  /** The variable to set instead. */
  replacement: string;
  since: string;
  /** The new variable (or the option's flag) was given too, so the old one is not read. */
  ignored: boolean;
}

/** The one line the startup log (`config.deprecated`) and `agentry config validate` give for an alias in use. */
export function deprecationMessage(d: ConfigDeprecation): string {
  return d.ignored
    ? `${d.variable} is deprecated since ${d.since} and ignored: ${d.replacement} (or its flag) is set; remove ${d.variable}`
    : `${d.variable} is deprecated since ${d.since}: set ${d.replacement} instead (the old name is removed at the next major version)`;
}

/** One `config.deprecated` warning per deprecated variable that was set: what a process logs as it starts. */
export function logDeprecations(logger: Logger, deprecations: readonly ConfigDeprecation[]): void {
  for (const d of deprecations)
    logger.warn({ event: 'config.deprecated', variable: d.variable, replacement: d.replacement, since: d.since, ignored: d.ignored }, deprecationMessage(d));
}

/**
 * Variables read outside the options table, each by one command: `agentry backup` and `restore`
 * (the passphrase), `agentry smoke` (its reviewer and viewer keys), the CLI's stack traces, the
 * CLI profile to use (`AGENTRY_PROFILE_NAME`), and what a `process` plugin's child is started
 * with by the plugin host, never by a user: its entry module (`AGENTRY_PLUGIN_ENTRY`), its egress
 * proxy and token (`AGENTRY_PLUGIN_PROXY`, `AGENTRY_PLUGIN_PROXY_TOKEN`) and where undici is
 * (`AGENTRY_PLUGIN_UNDICI`).
 */
export const COMMAND_VARIABLES = [
  'AGENTRY_BACKUP_PASSPHRASE',
  'AGENTRY_BACKUP_PASSPHRASE_FILE',
  'AGENTRY_DEBUG',
  'AGENTRY_PLUGIN_ENTRY',
  'AGENTRY_PLUGIN_PROXY',
  'AGENTRY_PLUGIN_PROXY_TOKEN',
  'AGENTRY_PLUGIN_UNDICI',
  'AGENTRY_PROFILE_NAME',
  'AGENTRY_SMOKE_REVIEWER_KEY',
  'AGENTRY_SMOKE_VIEWER_KEY',
] as const;

/**
 * Every variable Agentry reads, sorted: each option's of the table, its `_FILE` for a secret,
 * their deprecated aliases, and `COMMAND_VARIABLES`.
 */
export function envVariables(options: Readonly<Record<string, OptionSpec>>): string[] {
  const names = new Set<string>(COMMAND_VARIABLES);
  for (const spec of Object.values(options)) {
    for (const name of [spec.env, ...(spec.deprecatedAliases ?? []).map((a) => a.env)]) {
      names.add(name);
      if (spec.secret === true) names.add(`${name}_FILE`);
    }
  }
  return [...names].sort();
}

/** The variables of a release (`docs/env-vars.json`). */
export interface EnvSnapshot {
  version: string;
  variables: string[];
}

function versionParts(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  const at = a.findIndex((n, i) => n !== b[i]);
  return at < 0 ? 0 : (a[at] as number) - (b[at] as number);
}

/**
 * What breaks the contract between the release `snapshot` and the options table of `version`:
 * a variable of the release no longer read (allowed only at a higher major version), an alias
 * that names a current variable, an alias's `since` that is not a version up to `version`.
 * Adding variables is always fine.
 */
export function envContractProblems(snapshot: EnvSnapshot, options: Readonly<Record<string, OptionSpec>>, version: string): string[] {
  const problems: string[] = [];
  const current = versionParts(version);
  const released = versionParts(snapshot.version);
  if (current === undefined || released === undefined) return [`not a semver version: ${current === undefined ? version : snapshot.version}`];
  if (compare(released, current) > 0) problems.push(`the snapshot is of ${snapshot.version}, later than this version ${version}`);
  const read = new Set(envVariables(options));
  if (current[0] === released[0]) {
    for (const name of snapshot.variables.filter((v) => !read.has(v))) {
      problems.push(
        `${name} was read by ${snapshot.version} and is not any more: a renamed variable keeps its old name in its option's deprecatedAliases ({ env: '${name.replace(/_FILE$/, '')}', since: '${version}' }) until the next major version`,
      );
    }
  }
  const primary = new Set(Object.values(options).map((o) => o.env));
  for (const [key, spec] of Object.entries(options)) {
    for (const alias of spec.deprecatedAliases ?? []) {
      if (primary.has(alias.env)) problems.push(`${key}: deprecated alias ${alias.env} is the variable of an option`);
      const since = versionParts(alias.since);
      if (since === undefined) problems.push(`${key}: deprecated alias ${alias.env} has since '${alias.since}', not a version like 0.4.0`);
      else if (compare(since, current) > 0) problems.push(`${key}: deprecated alias ${alias.env} is since ${alias.since}, after this version ${version}`);
    }
  }
  return problems;
}
