/** Project settings (`agentry.yaml`): defaults, then the file, then the selected profile. */
import { didYouMean, type PathSegment, type Problem } from './diagnostics.js';
import { parseDuration } from '../lib/duration.js';
import { parseEgressRules, type EgressRuleSet } from '../lib/egress.js';
import { resolveLimits, type LimitsSettings } from './limits.js';
import type { EnvVarSpec, PolicySpec, ProjectSpec } from './schemas.js';

/** The environment in force (`environments.<name>` of `agentry.yaml`) and its policy. */
export interface ActiveEnvironment {
  name: string;
  /** Empty when the environment declares none: every spec passes. */
  policy: Readonly<PolicySpec>;
}

/** Which environment to activate: a name given explicitly (AGENTRY_ENVIRONMENT, `--env` of validate) must be declared; the mode's name (AGENTRY_ENV) only when declared. */
export interface EnvironmentChoice {
  name: string;
  /** The name came from `AGENTRY_ENV` (development/production): no environment of that name is not a problem. */
  implicit?: boolean;
  /** How the user named it, for messages. */
  source: string;
}

export interface ProjectSettings {
  name: string | undefined;
  description: string | undefined;
  /** The profile merged in (from `AGENTRY_PROFILE`), if any. */
  profile: string | undefined;
  engine: { concurrency: number; leaseTtlMs: number; pollIntervalMs: number };
  http: { allowLinkLocal: boolean; defaultTimeoutMs: number; maxResponseBytes: number };
  /** `egress:` (a profile's replaces the top-level one); undefined when neither sets it (production mode refuses that). */
  egress: EgressRuleSet | undefined;
  env: Readonly<Record<string, EnvVarSpec>>;
  /** `limits:` over the built-in defaults, a profile's fields over the file's. */
  limits: LimitsSettings;
  /** The active environment (its settings are merged over the profile's); undefined: none. */
  environment: ActiveEnvironment | undefined;
  /** Every environment `agentry.yaml` declares, with its policy (empty when it has none). */
  environments: Readonly<Record<string, Readonly<PolicySpec>>>;
}

export const SETTINGS_DEFAULTS = {
  name: undefined,
  description: undefined,
  profile: undefined,
  engine: { concurrency: 10, leaseTtlMs: 30_000, pollIntervalMs: 1_000 },
  http: { allowLinkLocal: false, defaultTimeoutMs: 30_000, maxResponseBytes: 10 * 1024 * 1024 },
  egress: undefined,
  env: {},
  environment: undefined,
  environments: {},
} as const satisfies Omit<ProjectSettings, 'limits'>;

/** Settings from a schema-valid `agentry.yaml` (or none) and a profile name; frozen. */
export function resolveSettings(
  spec: ProjectSpec | undefined,
  profile: string | undefined,
  choice?: EnvironmentChoice,
): { settings: ProjectSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const ms = (value: string | number | undefined, path: PathSegment[]): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseDuration(value);
    } catch (error) {
      problems.push({ path, message: (error as Error).message });
      return undefined;
    }
  };
  const layers: Array<{ spec: Pick<ProjectSpec, 'engine' | 'http' | 'egress' | 'env' | 'limits'>; path: PathSegment[] }> = [];
  if (spec !== undefined) layers.push({ spec, path: [] });
  if (profile !== undefined && profile !== '') {
    const chosen = spec?.profiles?.[profile];
    if (chosen === undefined) {
      const known = Object.keys(spec?.profiles ?? {});
      const list = known.length === 0 ? 'no profiles are defined' : `defined: ${known.join(', ')}`;
      problems.push({
        path: known.length === 0 ? [] : ['profiles'],
        atKey: true,
        message: `profile '${profile}' (AGENTRY_PROFILE) is not defined${didYouMean(profile, known)}; ${list}`,
      });
    } else {
      layers.push({ spec: chosen, path: ['profiles', profile] });
    }
  }
  let environment: ActiveEnvironment | undefined;
  if (choice !== undefined && choice.name !== '') {
    const chosen = spec?.environments?.[choice.name];
    if (chosen !== undefined) {
      layers.push({ spec: chosen, path: ['environments', choice.name] });
      environment = { name: choice.name, policy: Object.freeze({ ...chosen.policy }) };
    } else if (choice.implicit !== true) {
      const known = Object.keys(spec?.environments ?? {});
      const list = known.length === 0 ? 'no environments are defined' : `defined: ${known.join(', ')}`;
      problems.push({
        path: known.length === 0 ? [] : ['environments'],
        atKey: true,
        message: `environment '${choice.name}' (${choice.source}) is not defined${didYouMean(choice.name, known)}; ${list}`,
      });
    }
  }
  const engine: ProjectSettings['engine'] = { ...SETTINGS_DEFAULTS.engine };
  const http: ProjectSettings['http'] = { ...SETTINGS_DEFAULTS.http };
  const env: Record<string, EnvVarSpec> = {};
  let egress: EgressRuleSet | undefined;
  for (const { spec: layer, path } of layers) {
    if (layer.egress !== undefined) {
      const parsed = parseEgressRules(layer.egress, 'project');
      for (const problem of parsed.problems) problems.push({ path: [...path, 'egress', ...problem.path], message: problem.message });
      egress = parsed.rules;
    }
    engine.concurrency = layer.engine?.concurrency ?? engine.concurrency;
    engine.leaseTtlMs = ms(layer.engine?.lease_ttl, [...path, 'engine', 'lease_ttl']) ?? engine.leaseTtlMs;
    engine.pollIntervalMs = ms(layer.engine?.poll_interval, [...path, 'engine', 'poll_interval']) ?? engine.pollIntervalMs;
    http.allowLinkLocal = layer.http?.allow_link_local ?? http.allowLinkLocal;
    http.defaultTimeoutMs = ms(layer.http?.default_timeout, [...path, 'http', 'default_timeout']) ?? http.defaultTimeoutMs;
    http.maxResponseBytes = layer.http?.max_response_bytes ?? http.maxResponseBytes;
    Object.assign(env, layer.env);
  }
  const settings: ProjectSettings = {
    name: spec?.name,
    description: spec?.description,
    profile: layers.length > (spec === undefined ? 0 : 1) ? profile : undefined,
    engine: Object.freeze(engine),
    http: Object.freeze(http),
    egress,
    env: Object.freeze(env),
    limits: resolveLimits(
      layers.map(({ spec: layer, path }) => ({ limits: layer.limits, path })),
      problems,
    ),
    environment,
    environments: Object.freeze(Object.fromEntries(Object.entries(spec?.environments ?? {}).map(([name, e]) => [name, Object.freeze({ ...e.policy })]))),
  };
  return { settings: Object.freeze(settings), problems };
}
