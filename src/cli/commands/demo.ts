/**
 * `agentry demo`: Agentry the way it is meant to run. Starts a local flaky HTTP service, then
 * `agentry serve` in this process on `examples/demo` (fresh SQLite file, auth on with an admin
 * key made for this session), starts the `welcome` workflow through the HTTP API, shows its
 * live progress from the SSE stream, and says how to use the running server from another
 * shell; it serves until Ctrl-C (`--once`: exits after the run).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { loadProjectOrThrow, type Project } from '../../app/bootstrap.js';
import type { Config } from '../../app/config.js';
import { maskSecrets, type Redactor } from '../../lib/redact.js';
import { redactorFor } from '../../app/secrets.js';
import { AgentryError } from '../../lib/errors.js';
import { ROLE_SCOPES, type Role } from '../../server/scopes.js';
import { paint } from '../format.js';
import { startFlakyServer } from '../flaky-server.js';
import { configFrom, loggerFor, out, outStyle, packageRoot, selfCommand, type CliContext } from '../context.js';
import { RemoteClient } from '../remote.js';
import { RemoteRunsApi } from '../runs-api.js';
import { exitCodeOf, followRun, printOutcome } from '../watch.js';
import { findWorkflow } from './run.js';
import { serverAuth, startServer, type RunningServer } from './serve.js';

export const DEMO_WORKFLOW = 'welcome';

interface DemoOptions {
  name: string;
  vip?: boolean;
  once?: boolean;
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('Serve the example project (examples/demo) and run its welcome workflow through the HTTP API, with live progress')
    .option('--name <name>', 'who to welcome', 'Ada Lovelace')
    .option('--vip', 'take the VIP branch (otherwise the `perks` step is skipped by its condition)')
    .option('--once', 'exit after the run (0 if it succeeded, 1 otherwise) instead of serving until Ctrl-C')
    .addHelpText(
      'after',
      `
The server listens on $AGENTRY_PORT or 7700 (a free port when 7700 is taken), on a fresh SQLite
file under examples/demo/.agentry/ unless AGENTRY_DATABASE_URL is set. Auth is on, with an admin
key generated for this session (printed, with an export line for the CLI) unless
AGENTRY_API_KEYS is set.`,
    )
    .action(async (opts: DemoOptions) => {
      const projectDir = join(packageRoot(), 'examples', 'demo');
      const sessionKey = ctx.env.AGENTRY_API_KEYS?.trim() ? undefined : `agd_${randomBytes(24).toString('base64url')}`;
      const configFor = (port?: number): Config =>
        configFrom(ctx, { projectDir, ...(sessionKey ? { apiKeys: `demo:${sessionKey}:admin` } : {}), ...(port === undefined ? {} : { port }) });
      const config = configFor();
      serverAuth(config);
      const clientKey = sessionKey ?? config.client.apiKey ?? keyForRuns(config.server.apiKeys);
      if (config.server.auth && clientKey === undefined) {
        throw new AgentryError(
          'invalid_request',
          'AGENTRY_API_KEYS has no key that may read and start runs; add one (role admin, operator or service) or set AGENTRY_API_KEY',
        );
      }
      const project = await loadProjectOrThrow(config, ctx.env);
      const wf = findWorkflow(project, DEMO_WORKFLOW);
      const input = { name: opts.name, vip: opts.vip === true };
      const { database } = config;
      if (config.sources.databaseUrl === 'default' && database.kind === 'sqlite') {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${database.file}${suffix}`, { force: true });
      }

      const s = outStyle(ctx);
      const rel = (path: string): string => {
        const shown = relative(ctx.cwd, path) || '.';
        return shown.startsWith('..') ? path : shown;
      };
      const store = database.kind === 'postgres' ? maskSecrets(config.databaseUrl) : database.file === ':memory:' ? ':memory:' : rel(database.file);
      const redactor = redactorFor(config);
      const logger = loggerFor(config, { interactive: true, redactor });
      const upstream = await startFlakyServer();
      let server: RunningServer | undefined;
      // Our own connections to the server: closed first, so its graceful close has nothing to wait for.
      const connections = new Agent();
      try {
        const env = { ...ctx.env, DEMO_API_URL: upstream.url };
        server = await listen(configFor, config, logger, env, project, redactor);
        const gray = (text: string): string => paint(s, 'gray', text);
        out(ctx, paint(s, 'bold', 'Agentry demo'));
        out(ctx, `  project   ${rel(projectDir)}  ${gray(`(workflow ${wf.name}: ${wf.file ?? 'workflows/'})`)}`);
        out(ctx, `  upstream  ${upstream.url}  ${gray('(a flaky service: 503 on the first request, so the profile step retries)')}`);
        out(ctx, `  server    ${server.url}  ${gray(`(HTTP API, worker pool and scheduler in this process; auth ${config.server.auth ? 'on' : 'OFF'})`)}`);
        out(ctx, `  store     ${store}`);
        out(ctx);

        const api = new RemoteRunsApi(new RemoteClient({ url: server.url, dispatcher: connections, ...(clientKey ? { apiKey: clientKey } : {}) }));
        out(ctx, `${paint(s, 'cyan', '→')} POST /v1/workflows/${wf.name}/runs  ${gray(JSON.stringify({ input }))}`);
        const run = await api.start(wf.name, input);
        out(
          ctx,
          `${paint(s, 'cyan', '←')} 201 ${paint(s, 'bold', run.id)} ${run.status}  ${gray(`live progress from GET /v1/runs/${run.id}/events (text/event-stream)`)}`,
        );
        out(ctx);
        const followed = await followRun(ctx, api, run, { json: false });
        printOutcome(ctx, followed, { continueHint: `Its state is in the store (${store}); \`agentry serve\` on that store goes on with it.` });
        printGuide(ctx, { url: server.url, key: sessionKey, auth: config.server.auth, runId: run.id, store, once: opts.once === true });
        if (followed.interrupted) {
          ctx.exitCode = 130;
          return;
        }
        if (opts.once) {
          ctx.exitCode = exitCodeOf(followed);
          return;
        }
        const signal = await stopSignal();
        out(ctx, `\n${gray(`${signal}: stopping the server (running steps get ${config.engine.shutdownGraceMs / 1000}s to finish)…`)}`);
      } finally {
        await connections.close();
        await server?.close();
        await upstream.close();
      }
      if (!opts.once && ctx.exitCode === 0) out(ctx, 'Stopped.');
    });
}

/** Listens on the configured port; when that is the default (7700) and taken, on a free one. */
async function listen(
  configFor: (port?: number) => Config,
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  project: Project,
  redactor: Redactor,
): Promise<RunningServer> {
  try {
    // The demo shows the run's story itself: no log lines in the middle of it.
    return await startServer(config, logger, env, project, { redactor, logRuns: false });
  } catch (error) {
    if (config.sources.port !== 'default' || !(error instanceof AgentryError && error.code === 'port_in_use')) throw error;
    return startServer(configFor(0), logger, env, project, { redactor, logRuns: false });
  }
}

/** A key of `AGENTRY_API_KEYS` (`name:key:role[,role];…`) that may read and start runs. */
function keyForRuns(list: string | undefined): string | undefined {
  for (const entry of (list ?? '').split(';')) {
    const [, key, ...grants] = entry.trim().split(':');
    const scopes = grants
      .join(':')
      .split(',')
      .flatMap((g): readonly string[] => (g in ROLE_SCOPES ? ROLE_SCOPES[g as Role] : [g.trim()]));
    if (key && scopes.includes('runs:read') && scopes.includes('runs:write')) return key;
  }
  return undefined;
}

interface GuideFacts {
  url: string;
  /** The admin key made for this session (undefined when AGENTRY_API_KEYS was given). */
  key: string | undefined;
  auth: boolean;
  runId: string;
  store: string;
  once: boolean;
}

/** Where to look while the server runs: docs, the CLI's remote mode, curl, the store. */
function printGuide(ctx: CliContext, g: GuideFacts): void {
  const s = outStyle(ctx);
  const cli = selfCommand(ctx);
  const gray = (text: string): string => paint(s, 'gray', text);
  const head = (text: string): void => out(ctx, `\n${paint(s, 'bold', text)}`);
  const keyText = g.key ?? '<a key from AGENTRY_API_KEYS>';
  head(g.once ? 'The server (it stops now: --once)' : 'The server is running');
  out(ctx, `  API docs  ${paint(s, 'cyan', `${g.url}/docs`)}`);
  out(ctx, `  OpenAPI   ${g.url}/openapi.json`);
  out(ctx, `  store     ${g.store}${g.store.startsWith('postgres') ? '' : `  ${gray('(a plain SQLite file: open it with sqlite3 while the server runs)')}`}`);
  if (g.auth) out(ctx, `  auth      ${gray(g.key ? 'an admin key made for this session only (below)' : 'the keys of AGENTRY_API_KEYS')}`);

  head('Use the CLI against it, from another shell');
  out(ctx, `  export AGENTRY_URL=${g.url}${g.auth ? ` AGENTRY_API_KEY=${keyText}` : ''}`);
  out(ctx, `  ${cli} runs get ${g.runId}            ${gray('# steps, attempts, durations, outputs')}`);
  out(ctx, `  ${cli} runs events ${g.runId}         ${gray('# the full history, in order')}`);
  out(ctx, `  ${cli} run ${DEMO_WORKFLOW} --input '{"name":"Grace Hopper"}' --wait   ${gray('# live progress over SSE')}`);
  out(ctx, `  ${cli} runs list`);

  head('Or curl it');
  const authHeader = g.auth ? ` -H "Authorization: Bearer $AGENTRY_API_KEY"` : '';
  out(ctx, `  curl -sS -X POST '${g.url}/v1/workflows/${DEMO_WORKFLOW}/runs?wait=30s'${authHeader} \\`);
  out(ctx, `    -H 'Content-Type: application/json' -d '{"input":{"name":"Grace Hopper","vip":true}}'`);
  out(ctx, `  curl -sS '${g.url}/v1/runs/${g.runId}'${authHeader}`);
  if (!g.once) out(ctx, `\n${paint(s, 'green', '●')} Serving on ${g.url}: press ${paint(s, 'bold', 'Ctrl-C')} to stop.`);
}

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
