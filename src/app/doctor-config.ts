/**
 * The doctor's checks of the configuration itself: it loads with the project's specs
 * (`config`), production mode would start with it (`production`), keys and secrets are strong
 * and managed keys are not about to expire (`keys`), and runs are not kept for ever
 * (`retention`). They reuse `agentry config validate` and the startup checks of production mode.
 */
import { formatAge, formatDuration } from '../lib/duration.js';
import type { ApiKeyRecord } from '../types.js';
import { shortestRetention } from './backup-record.js';
import { Unavailable, type CheckDefinition, type DoctorContext, type Outcome } from './doctor-context.js';
import { keyStrengthProblems } from './startup-checks.js';

/** A managed key that stops working within this long is a warning. */
export const KEY_EXPIRY_WARN_MS = 14 * 86_400_000;
/** Problems listed in a detail line before "and N more". */
const LISTED = 3;

/** `a; b; c (and 2 more)`. */
export function listProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, LISTED).join('; ');
  return problems.length > LISTED ? `${shown} (and ${problems.length - LISTED} more)` : shown;
}

/** A finding of production mode's: a failure in production, a warning in development. */
function productionStatus(ctx: DoctorContext): 'fail' | 'warn' {
  return ctx.validation.env === 'production' ? 'fail' : 'warn';
}

function configCheck(ctx: DoctorContext): Promise<Outcome> {
  const { validation } = ctx;
  const errors = validation.problems.filter((p) => p.check !== 'production' && p.severity === 'error').map((p) => `${p.check}: ${p.message}`);
  if (errors.length > 0)
    return Promise.resolve({ status: 'fail', detail: `${errors.length} problem${errors.length === 1 ? '' : 's'}: ${listProblems(errors)}` });
  return Promise.resolve({ status: 'ok', detail: `configuration, secret files and specs load (${validation.env} mode, ${validation.dir})` });
}

function productionCheck(ctx: DoctorContext): Promise<Outcome> {
  const keys = new Set(keyStrengthProblems(ctx.config));
  const found = ctx.validation.problems.filter((p) => p.check === 'production' && !keys.has(p.message));
  const refused = found.filter((p) => p.severity === 'error' || ctx.validation.env !== 'production').map((p) => p.message);
  const warned = found.filter((p) => !refused.includes(p.message)).map((p) => p.message);
  if (refused.length > 0) {
    const mode = ctx.validation.env === 'production' ? 'refuses to start' : 'would refuse to start in production';
    return Promise.resolve({ status: productionStatus(ctx), detail: `${mode}: ${listProblems(refused)}` });
  }
  if (warned.length > 0) return Promise.resolve({ status: 'warn', detail: listProblems(warned) });
  return Promise.resolve({ status: 'ok', detail: `nothing production mode refuses or warns of (${ctx.validation.env} mode)` });
}

/** Managed keys that still sign in but stop within `KEY_EXPIRY_WARN_MS`, soonest first. */
export function expiringKeys(keys: readonly ApiKeyRecord[], now: number): ApiKeyRecord[] {
  return keys
    .filter((k) => k.revokedAt === null && k.expiresAt !== null && k.expiresAt > now && k.expiresAt - now <= KEY_EXPIRY_WARN_MS)
    .sort((a, b) => a.expiresAt! - b.expiresAt!);
}

async function keysCheck(ctx: DoctorContext): Promise<Outcome> {
  const weak = keyStrengthProblems(ctx.config);
  let managed: string;
  const expiring: string[] = [];
  try {
    const keys = await (await ctx.answeringStore()).allApiKeys();
    const now = ctx.now();
    const usable = keys.filter((k) => k.revokedAt === null && (k.expiresAt === null || k.expiresAt > now));
    for (const k of expiringKeys(keys, now)) expiring.push(`${k.tenantId}/${k.name} (${k.prefix}) expires in ${formatAge(k.expiresAt! - now)}`);
    managed = `${usable.length} usable managed key${usable.length === 1 ? '' : 's'}, none expiring within ${formatDuration(KEY_EXPIRY_WARN_MS)}`;
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error;
    managed = `managed keys not read (${error.message})`;
  }
  if (weak.length > 0) {
    return { status: productionStatus(ctx), detail: `${listProblems(weak)}; ${managed}`, hint: 'generate each with `openssl rand -hex 32` and restart' };
  }
  if (expiring.length > 0) {
    return {
      status: 'warn',
      detail: listProblems(expiring),
      hint: 'rotate them before they expire: `agentry keys rotate <name> --expires 90d` (the old one works through its grace)',
    };
  }
  return { status: 'ok', detail: `configured keys and secrets are long and not placeholders; ${managed}` };
}

async function retentionCheck(ctx: DoctorContext): Promise<Outcome> {
  const config = ctx.config;
  const workflows = await ctx.project().then(
    (p) => [...p.workflows.values()],
    () => [],
  );
  const shortest = shortestRetention(config.retention, workflows);
  const audit = config.audit.retentionMs === undefined ? 'audit log kept for ever' : `audit log kept ${formatDuration(config.audit.retentionMs)}`;
  if (shortest === undefined) {
    return { status: 'warn', detail: `no run retention is set: ended runs, their steps and events are kept for ever and the database only grows; ${audit}` };
  }
  return { status: 'ok', detail: `shortest window ${formatDuration(shortest.ms)} (${shortest.source}); ${audit}` };
}

export const CONFIG_CHECKS: readonly CheckDefinition[] = [
  {
    id: 'config',
    title: 'Configuration valid',
    docs: 'docs/configuration.md#options',
    hint: 'fix each problem named (`agentry config validate` lists them all), then run doctor again',
    run: configCheck,
  },
  {
    id: 'production',
    title: 'Production mode checks',
    docs: 'docs/security.md#production-mode',
    hint: 'fix each finding (`agentry config validate --env production`); production mode refuses to start with any',
    run: productionCheck,
  },
  {
    id: 'keys',
    title: 'Key strength and expiry',
    docs: 'docs/security.md#managed-api-keys',
    hint: 'replace weak keys and rotate expiring ones',
    run: keysCheck,
  },
  {
    id: 'retention',
    title: 'Retention set',
    docs: 'docs/operations/retention.md#settings',
    hint: 'set AGENTRY_RETENTION_SUCCEEDED, _FAILED and _CANCELLED (e.g. 30d) or a workflow `retention:` block, and back up more often than the shortest window',
    run: retentionCheck,
  },
];
