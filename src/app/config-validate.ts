/**
 * `agentry config validate`: everything `serve` checks before it starts, without starting —
 * the configuration, the project's specs (with the plugins they use), `NAME_FILE` secrets and production mode's startup
 * checks (as for a process that listens) — every problem at once, so a deploy pipeline can
 * refuse a configuration before it reaches a host.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { formatDiagnostic } from '../spec/index.js';
import { STEP_KINDS } from '../spec/model.js';
import { loadConfig, type Config } from './config.js';
import { deprecationMessage } from './config-deprecations.js';
import { loadProject } from './project.js';
import { withSecretFiles } from './secret-files.js';
import { specsFromBundle, withBundleDir } from './bundle-load.js';
import { startupProblems, startupWarnings } from './startup-checks.js';

/**
 * What refuses to start in every mode (`config`, `spec`, `secret_file`, `bundle`: the configured
 * bundle's files, signature, trust key or environment) and what production refuses or warns of (`production`).
 */
export type ProblemCheck = 'config' | 'spec' | 'secret_file' | 'bundle' | 'production';

export interface ConfigProblem {
  check: ProblemCheck;
  /** `error`: the process would refuse to start; `warning`: it would start (development) and log it. */
  severity: 'error' | 'warning';
  message: string;
}

export interface ConfigValidation {
  env: Config['env'];
  dir: string;
  /** No problem of severity `error`. */
  ok: boolean;
  problems: ConfigProblem[];
}

export interface ValidateOptions {
  flags: { projectDir?: string | undefined; env?: string | undefined };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Count production's findings as errors in development too. */
  strict?: boolean;
}

/** Configuration problems of an `invalid_request` from `loadConfig`, one line each. */
function configErrors(error: unknown): string[] {
  const normalised = toAgentryError(error);
  const listed = (normalised.details as { problems?: unknown } | undefined)?.problems;
  return Array.isArray(listed) ? listed.map(String) : [normalised.message];
}

type Loaded = Awaited<ReturnType<typeof loadProject>>;

/** The configured bundle's specs, or undefined (with a `bundle` error) when it would be refused. */
async function bundleSpecs(
  config: Config,
  load: (dir: string) => Promise<Loaded>,
  error: (check: ProblemCheck, message: string) => void,
): Promise<Loaded | undefined> {
  try {
    return (await withBundleDir(config, load)).value;
  } catch (caught) {
    if (!(caught instanceof AgentryError)) throw caught;
    error('bundle', caught.message);
    return undefined;
  }
}

export async function validateConfiguration(options: ValidateOptions): Promise<ConfigValidation> {
  const problems: ConfigProblem[] = [];
  const error = (check: ProblemCheck, message: string): void => void problems.push({ check, severity: 'error', message });
  let config: Config | undefined;
  try {
    config = loadConfig({ flags: options.flags, env: options.env, cwd: options.cwd });
  } catch (caught) {
    if (!(caught instanceof AgentryError)) throw caught;
    for (const message of configErrors(caught)) error('config', message);
  }
  const dir = config?.projectDir ?? resolve(options.cwd, options.flags.projectDir ?? options.env.AGENTRY_PROJECT_DIR ?? '.');
  const env = config?.env ?? (options.flags.env === 'production' || options.env.AGENTRY_ENV === 'production' ? 'production' : 'development');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    error('config', `project directory ${dir} does not exist (create one with \`agentry init\`)`);
    return { env, dir, ok: false, problems };
  }
  const secrets = withSecretFiles(options.env, dir);
  for (const message of secrets.problems) error('secret_file', message);
  // Plugin steps and tools are checked against the project's installed plugins, as `serve` loads them.
  const load = (from: string) => loadProject(from, { availableKinds: new Set(STEP_KINDS), env: secrets.env, pluginsDir: dir });
  // With a bundle, the specs that would run are the bundle's: check it, then them.
  const bundled = config !== undefined && specsFromBundle(config) ? await bundleSpecs(config, load, error) : undefined;
  const { project, diagnostics } = bundled ?? (await load(dir));
  for (const diagnostic of diagnostics) if (diagnostic.severity === 'error') error('spec', `${bundled ? 'bundle: ' : ''}${formatDiagnostic(diagnostic)}`);
  if (config !== undefined) {
    for (const d of config.deprecations) problems.push({ check: 'config', severity: 'warning', message: deprecationMessage(d) });
    const severity = env === 'production' || options.strict === true ? 'error' : 'warning';
    // As `serve` would start: serving the gateway when the project has one or forwards to one.
    const servesGateway = project.gateway !== undefined || config.gateway !== undefined;
    for (const message of startupProblems(config, { listens: true, servesGateway, egress: project.settings.egress }))
      problems.push({ check: 'production', severity, message });
    for (const message of startupWarnings(config)) problems.push({ check: 'production', severity: 'warning', message });
  }
  return { env, dir, ok: !problems.some((p) => p.severity === 'error'), problems };
}
