/**
 * `agentry smoke --url <base> [--key <key>]`: the check an operator runs after every deploy or
 * upgrade, against any deployment (`agentry serve`, a container, api/worker/scheduler processes
 * on PostgreSQL), through its HTTP API alone. It prints one line per check (`src/cli/smoke.ts`)
 * and a summary, and exits 0 only when no check failed. See docs/operations/smoke.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Agent } from 'undici';
import { AgentryError } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/redact.js';
import { SMOKE_WORKFLOW } from '../../spec/builtin.js';
import { configFrom, out, outJson, outStyle, parseDurationArg, parseTenantArg, type CliContext } from '../context.js';
import { formatDuration, paint, plural, type Color, type Style } from '../format.js';
import { RemoteClient } from '../remote.js';
import { runSmoke, seconds, smokeExitCode, type CheckResult, type CheckStatus, type SmokeReport } from '../smoke.js';

const DEFAULT_TIMEOUT_MS = 60_000;

interface SmokeFlags {
  url?: string;
  key?: string;
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
    .description('Check a running deployment through its API after a deploy: probes, auth, OpenAPI, a workflow run, a cancel, metrics')
    .option('--url <url>', 'base URL of the API (default $AGENTRY_URL)', parseUrlArg)
    .option('--key <key>', 'API key to check with (default $AGENTRY_API_KEY, which keeps it out of the process list)')
    .option('--tenant <id>', 'act in this tenant (?tenant=): needed by a system admin key in multi-tenant mode', parseTenantArg)
    .addOption(new Option('--timeout <duration>', 'for the whole check, e.g. 30s or 2m').argParser(parseDurationArg).default(DEFAULT_TIMEOUT_MS, '60s'))
    .option('--ca <file>', 'trust this CA (PEM) for an https URL instead of the default ones (NODE_EXTRA_CA_CERTS adds to them)')
    .option('--json', 'print { url, ok, duration_ms, checks: [{ name, status, detail, duration_ms, code }], summary }')
    .addHelpText(
      'after',
      `
Checks, in order: livez, readyz, auth-refuses (a wrong key gets 401), auth-accepts (the key
signs in), openapi, run (the built-in ${SMOKE_WORKFLOW} workflow: a transform, a durable sleep
and a signal, to success), cancel (a second run, cancelled), metrics (the runs moved the
/metrics counters; needs metrics:read). Each prints PASS, WARN, SKIP or FAIL with the reason.
The key needs runs:read and runs:write (an operator or admin key does it all).

Exit codes: 0 no check failed; otherwise that of the first failure (1: unreachable, not
ready, a run that did not succeed, a timeout; 2: a key refused or lacking a scope).
See docs/operations/smoke.md.`,
    )
    .action(async (opts: SmokeFlags) => {
      const config = configFrom(ctx, {});
      const url = serverUrl(opts.url, config.client.url);
      const apiKey = opts.key ?? config.client.apiKey;
      const dispatcher = dispatcherFor(ctx, opts.ca);
      const s = outStyle(ctx);
      try {
        if (!opts.json) out(ctx, `Smoke-checking ${maskSecrets(url)} (timeout ${seconds(opts.timeout)})`);
        const report = await runSmoke({
          connect: (o) => new RemoteClient({ url, dispatcher, ...o, ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) }),
          apiKey: apiKey === '' ? undefined : apiKey,
          timeoutMs: opts.timeout,
          ...(opts.json ? {} : { onResult: (result: CheckResult) => out(ctx, resultLine(s, result)) }),
        });
        if (opts.json) outJson(ctx, { ...report, url: maskSecrets(report.url) });
        else out(ctx, summaryLine(s, report));
        ctx.exitCode = smokeExitCode(report);
      } finally {
        await dispatcher.destroy();
      }
    });
}
