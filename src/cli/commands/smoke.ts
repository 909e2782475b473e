/**
 * `agentry smoke --url <base> [--key <key>] [--viewer-key <key>] [--reviewer-key <key>]`: the
 * check an operator runs after every deploy or upgrade, against any deployment (`agentry serve`,
 * a container, api/worker/scheduler processes on PostgreSQL), through its HTTP API alone. With
 * `--env-file` it is the staging release gate: the deployment's env file validated first, the
 * keys taken from it (`src/cli/smoke-env.ts`). It prints one line per check (`src/cli/smoke.ts`)
 * and a summary, keys and secrets masked, and exits 0 only when no check failed. See
 * docs/operations/smoke.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Agent } from 'undici';
import { secretFromEnv } from '../../app/secret-files.js';
import { AgentryError } from '../../lib/errors.js';
import { Redactor } from '../../lib/redact.js';
import { SMOKE_REVIEW_WORKFLOW, SMOKE_WORKFLOW } from '../../spec/builtin.js';
import { configFrom, out, outJson, outStyle, parseDurationArg, parseTenantArg, type CliContext } from '../context.js';
import { formatDuration, paint, plural, type Color, type Style } from '../format.js';
import { RemoteClient } from '../remote.js';
import { checkEnvFile, type EnvFileGate } from '../smoke-env.js';
import { runSmoke, seconds, smokeExitCode, type CheckResult, type CheckStatus, type SmokeKeys, type SmokeReport } from '../smoke.js';

const DEFAULT_TIMEOUT_MS = 60_000;

/** The variables the role keys default to (each also as `<NAME>_FILE`). */
const VIEWER_KEY_ENV = 'AGENTRY_SMOKE_VIEWER_KEY';
const REVIEWER_KEY_ENV = 'AGENTRY_SMOKE_REVIEWER_KEY';

interface SmokeFlags {
  url?: string;
  key?: string;
  viewerKey?: string;
  reviewerKey?: string;
  expectAuth?: boolean;
  envFile?: string;
  dir?: string;
  tenant?: string;
  timeout: number;
  ca?: string;
  json?: boolean;
}

/** Why `value` is not a base URL of an Agentry server, or undefined when it is one. */
function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be the base URL of the server, like http://127.0.0.1:7700 or https://agentry.example.com';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL, not ${url.protocol}//`;
  if (url.search !== '' || url.hash !== '') return 'must be a base URL without ?query or #fragment';
  return undefined;
}

function parseUrlArg(value: string): string {
  const problem = urlProblem(value.trim());
  if (problem !== undefined) throw new InvalidArgumentError(`${problem}.`);
  return value.trim();
}

/** The server's URL: `--url`, else `AGENTRY_URL`. */
function serverUrl(flag: string | undefined, env: string | undefined): string {
  if (flag !== undefined) return flag;
  if (env === undefined) throw new AgentryError('invalid_request', 'no server to check: pass --url <base URL> or set AGENTRY_URL');
  const problem = urlProblem(env);
  if (problem !== undefined) throw new AgentryError('invalid_request', `AGENTRY_URL ${problem}`);
  return env;
}

/** The connection pool of the check: with `--ca`, trusting that CA (PEM) instead of the default ones. */
function dispatcherFor(ctx: CliContext, ca: string | undefined): Agent {
  if (ca === undefined) return new Agent();
  const file = resolve(ctx.cwd, ca);
  if (!existsSync(file)) throw new AgentryError('invalid_request', `--ca ${ca} does not exist`);
  const pem = readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new AgentryError('invalid_request', `--ca ${ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return new Agent({ connect: { ca: pem } });
}

/** A key from `NAME` or `NAME_FILE` (a problem, such as an unreadable file, is a usage error). */
function keyFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const secret = secretFromEnv(env, name);
  if (secret.problem !== undefined) throw new AgentryError('invalid_request', secret.problem);
  return secret.value?.trim() || undefined;
}

/** The keys of the checks: each flag, else the env file's choice, else its variable. */
function smokeKeys(ctx: CliContext, opts: SmokeFlags, mainFromEnv: string | undefined, gate: EnvFileGate | undefined): SmokeKeys {
  const pick = (flag: string | undefined, fromFile: string | undefined, fromEnv: () => string | undefined): string | undefined => {
    const key = flag ?? fromFile ?? fromEnv();
    return key === '' ? undefined : key;
  };
  return {
    main: pick(opts.key, gate?.keys.main?.key, () => mainFromEnv),
    viewer: pick(opts.viewerKey, gate?.keys.viewer?.key, () => keyFromEnv(ctx.env, VIEWER_KEY_ENV)),
    reviewer: pick(opts.reviewerKey, gate?.keys.reviewer?.key, () => keyFromEnv(ctx.env, REVIEWER_KEY_ENV)),
  };
}

const LOOK: Record<CheckStatus, { label: string; color: Color }> = {
  pass: { label: 'PASS', color: 'green' },
  warn: { label: 'WARN', color: 'yellow' },
  skip: { label: 'SKIP', color: 'gray' },
  fail: { label: 'FAIL', color: 'red' },
};

function resultLine(s: Style, result: CheckResult): string {
  const look = LOOK[result.status];
  return `${paint(s, look.color, look.label)}  ${result.name.padEnd(12)}  ${result.detail} ${paint(s, 'gray', `(${result.duration_ms} ms)`)}`;
}

function summaryLine(s: Style, report: SmokeReport): string {
  const { pass, warn, skip, fail } = report.summary;
  const counts = [`${pass} passed`, ...(warn > 0 ? [plural(warn, 'warning')] : []), ...(skip > 0 ? [`${skip} skipped`] : [])];
  const took = `in ${formatDuration(report.duration_ms)}`;
  if (fail === 0) return `${paint(s, 'green', 'OK')}: ${counts.join(', ')} ${took}`;
  return `${paint(s, 'red', 'FAILED')}: ${fail} of ${report.checks.length} checks failed (${counts.join(', ')}) ${took}`;
}

export function registerSmoke(program: Command, ctx: CliContext): void {
  program
    .command('smoke')
    .description('Check a running deployment through its API after a deploy: probes, auth, specs, runs, a human task, roles, audit, credentials, metrics')
    .option('--url <url>', 'base URL of the API (default $AGENTRY_URL)', parseUrlArg)
    .option('--key <key>', 'API key to check with (default $AGENTRY_API_KEY, which keeps it out of the process list)')
    .option('--viewer-key <key>', `a read-only key: reads a run, must get 403 starting one (default $${VIEWER_KEY_ENV})`)
    .option('--reviewer-key <key>', `the key that decides the human task (default $${REVIEWER_KEY_ENV}, else the main key)`)
    .option('--expect-auth', 'fail (not warn) when the server has auth off')
    .option(
      '--env-file <file>',
      "release gate: validate this deployment env file (KEY=VALUE lines) as 'config validate' does, then take the keys from its AGENTRY_API_KEYS",
    )
    .option('--dir <dir>', "with --env-file: the project directory to validate (default: the file's AGENTRY_PROJECT_DIR)")
    .option('--tenant <id>', 'act in this tenant (?tenant=): needed by a system admin key in multi-tenant mode', parseTenantArg)
    .addOption(new Option('--timeout <duration>', 'for the whole check, e.g. 30s or 2m').argParser(parseDurationArg).default(DEFAULT_TIMEOUT_MS, '60s'))
    .option('--ca <file>', 'trust this CA (PEM) for an https URL instead of the default ones (NODE_EXTRA_CA_CERTS adds to them)')
    .option('--json', 'print { url, ok, duration_ms, checks: [{ name, status, detail, duration_ms, code }], summary }')
    .addHelpText(
      'after',
      `
Checks, in order: [config (--env-file)], livez, readyz, auth-refuses (a wrong key gets 401),
auth-accepts (the key signs in), openapi, specs (POST /v1/specs/validate), run (the built-in
${SMOKE_WORKFLOW} workflow: a transform, a durable sleep and a signal, to success),
checkpoints (its steps' attempts), cancel (a second run, cancelled), human (a task of the
built-in ${SMOKE_REVIEW_WORKFLOW} decided through the tasks API), viewer-write (the viewer
key reads a run, is refused a new one), audit (the log lists these actions), credentials
(the inventory, no value in it), metrics (the runs moved the /metrics counters). Each prints
PASS, WARN, SKIP or FAIL with the reason; a check the key lacks the scope for is skipped.
An admin key does it all; an operator key all but audit. Keys are never printed.

Exit codes: 0 no check failed; otherwise that of the first failure (1: unreachable, not
ready, a run that did not succeed, a read-only key that could write, auth off with
--expect-auth, a timeout; 2: bad usage, an env file serve would refuse, a key refused or
lacking a scope). See docs/operations/smoke.md.`,
    )
    .action(async (opts: SmokeFlags) => {
      if (opts.dir !== undefined && opts.envFile === undefined) throw new AgentryError('invalid_request', '--dir goes with --env-file');
      const config = configFrom(ctx, {});
      const url = serverUrl(opts.url, config.client.url);
      const dispatcher = dispatcherFor(ctx, opts.ca);
      const s = outStyle(ctx);
      try {
        const gate = opts.envFile === undefined ? undefined : await checkEnvFile({ file: opts.envFile, dir: opts.dir, cwd: ctx.cwd });
        const keys = smokeKeys(ctx, opts, config.client.apiKey, gate);
        const secrets = gate?.secrets ?? [];
        // Nothing printed holds a key or a secret of the env file, whatever a server or a check says.
        const redactor = new Redactor({ secrets: [...secrets, keys.main, keys.viewer, keys.reviewer] });
        const shown = (result: CheckResult): CheckResult => ({ ...result, detail: redactor.text(result.detail) });
        const print = (result: CheckResult): void => out(ctx, resultLine(s, shown(result)));
        if (!opts.json) {
          out(ctx, `Smoke-checking ${redactor.text(url)} (timeout ${seconds(opts.timeout)})`);
          if (gate !== undefined) print(gate.result);
        }
        const report = await runSmoke({
          connect: (o) => new RemoteClient({ url, dispatcher, ...o, ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) }),
          keys,
          timeoutMs: opts.timeout,
          expectAuth: opts.expectAuth === true,
          secrets,
          before: gate === undefined ? [] : [gate.result],
          ...(opts.json ? {} : { onResult: print }),
        });
        if (opts.json) outJson(ctx, { ...report, url: redactor.text(report.url), checks: report.checks.map(shown) });
        else out(ctx, summaryLine(s, report));
        ctx.exitCode = smokeExitCode(report);
      } finally {
        await dispatcher.destroy();
      }
    });
}
