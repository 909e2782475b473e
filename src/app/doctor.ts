/**
 * `agentry doctor`: the automatable lines of the production-readiness checklist, each an
 * ok / warn / fail (or skip: not applicable, or a flag turns it on) with what it saw, what to
 * do, and the docs section that explains the fix (docs/operations/doctor.md lists them all).
 * Checks run side by side, each bounded in time; one that throws is a fail of its own and
 * never stops the others. The report's status is the worst of its checks (a skip counts as ok).
 *
 *   const report = await runDoctor({ flags: { projectDir }, env: process.env, cwd: process.cwd(), url: 'https://agentry.example.com' });
 *   process.exitCode = doctorExitCode(report); // 0 ok, 1 warn, 2 fail
 */
import { resolve } from 'node:path';
import { loadConfig, type Config } from './config.js';
import { validateConfiguration, type ConfigValidation } from './config-validate.js';
import { DoctorContext, Unavailable, type CheckDefinition, type DoctorOptions, type DoctorStatus, type Outcome } from './doctor-context.js';
import { BACKUP_CHECKS } from './doctor-backup.js';
import { CONFIG_CHECKS } from './doctor-config.js';
import { NETWORK_CHECKS } from './doctor-network.js';
import { STORE_CHECKS } from './doctor-store.js';
import { UPSTREAM_CHECKS } from './doctor-upstreams.js';

export type { DoctorOptions } from './doctor-context.js';

/** One line of the report. */
export interface DoctorCheck {
  /** Stable: scripts and docs refer to it. */
  id: string;
  title: string;
  status: DoctorStatus;
  /** What the check saw, on one line; never a secret. */
  detail: string;
  /** What to do about a warn or fail. */
  hint?: string;
  /** The docs section that explains the fix (a path under docs/ with its anchor). */
  docs: string;
}

export interface DoctorReport {
  /** The worst status of the checks (a skip counts as ok). */
  status: 'ok' | 'warn' | 'fail';
  checks: DoctorCheck[];
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Every check, in the order the report lists them. */
export const DOCTOR_CHECKS: readonly CheckDefinition[] = [...CONFIG_CHECKS, ...STORE_CHECKS, ...BACKUP_CHECKS, ...UPSTREAM_CHECKS, ...NETWORK_CHECKS];

async function runCheck(check: CheckDefinition, ctx: DoctorContext): Promise<DoctorCheck> {
  const limit = check.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${limit / 1000}s`)), limit);
  });
  let outcome: Outcome;
  try {
    outcome = await Promise.race([check.run(ctx), timeout]);
  } catch (error) {
    outcome =
      error instanceof Unavailable
        ? { status: 'skip', detail: `skipped: ${error.message}` }
        : { status: 'fail', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
  const hint = outcome.status === 'warn' || outcome.status === 'fail' ? (outcome.hint ?? check.hint) : undefined;
  return { id: check.id, title: check.title, status: outcome.status, detail: outcome.detail, ...(hint === undefined ? {} : { hint }), docs: check.docs };
}

/** The configuration as every command loads it; undefined when it does not (the `config` check names why). */
function configOrUndefined(options: DoctorOptions): Config | undefined {
  try {
    return loadConfig({ flags: options.flags, env: options.env, cwd: options.cwd });
  } catch {
    return undefined;
  }
}

/** The report's status: fail when any check fails, else warn when any warns, else ok. */
export function overallStatus(checks: readonly Pick<DoctorCheck, 'status'>[]): DoctorReport['status'] {
  if (checks.some((c) => c.status === 'fail')) return 'fail';
  return checks.some((c) => c.status === 'warn') ? 'warn' : 'ok';
}

/** The exit code of `agentry doctor`: 0 ok, 1 warn, 2 fail. */
export function doctorExitCode(report: DoctorReport): 0 | 1 | 2 {
  return report.status === 'fail' ? 2 : report.status === 'warn' ? 1 : 0;
}

/** Runs `checks` (default: all) against the configuration `options` describe. */
export async function runDoctor(options: DoctorOptions, checks: readonly CheckDefinition[] = DOCTOR_CHECKS): Promise<DoctorReport> {
  const validation = await validateConfiguration({ flags: options.flags, env: options.env, cwd: options.cwd }).catch((error: unknown): ConfigValidation => ({
    env: options.env.AGENTRY_ENV === 'production' || options.flags.env === 'production' ? 'production' : 'development',
    dir: resolve(options.cwd, options.flags.projectDir ?? options.env.AGENTRY_PROJECT_DIR ?? '.'),
    ok: false,
    problems: [{ check: 'config', severity: 'error', message: error instanceof Error ? error.message : String(error) }],
  }));
  const ctx = new DoctorContext(options, validation, configOrUndefined(options));
  try {
    const first = new Map<string, DoctorCheck>();
    for (const check of checks.filter((c) => c.first === true)) first.set(check.id, await runCheck(check, ctx));
    const rest = await Promise.all(checks.map((check) => Promise.resolve(first.get(check.id) ?? runCheck(check, ctx))));
    return { status: overallStatus(rest), checks: rest };
  } finally {
    await ctx.close();
  }
}
