/**
 * `agentry run <workflow>`: starts a run, on the project's store or (with `AGENTRY_URL`) on a
 * server; with `--wait`, follows it to its end with live progress (executing it in this
 * process when local).
 */
import type { Command } from 'commander';
import { loadProjectOrThrow, type Project } from '../../app/bootstrap.js';
import { assertMatches } from '../../spec/output.js';
import { AgentryError } from '../../lib/errors.js';
import { didYouMean } from '../../spec/diagnostics.js';
import type { CompiledWorkflow } from '../../spec/model.js';
import { paint } from '../format.js';
import {
  configFrom,
  dirHint,
  loggerFor,
  noteRemoteDir,
  out,
  outJson,
  outStyle,
  parseDurationArg,
  parseIntegerArg,
  readJsonInput,
  selfCommand,
  type CliContext,
} from '../context.js';
import { isRemote } from '../runs-api.js';
import { redactorFor } from '../../app/secrets.js';
import { withTracing } from '../tracing.js';
import { withRunsApi } from '../runs-open.js';
import { exitCodeOf, followRun, printHints, printOutcome, runHints } from '../watch.js';

interface RunOptions {
  input: string;
  wait?: boolean;
  json?: boolean;
  timeout?: number;
  priority?: number;
  dir?: string;
}

export function findWorkflow(project: Project, name: string): CompiledWorkflow {
  const wf = project.workflows.get(name);
  if (wf) return wf;
  const known = [...project.workflows.keys()].sort();
  const hint = didYouMean(name, known);
  throw new AgentryError('not_found', `workflow '${name}' not found${hint}; workflows in ${project.dir}: ${known.join(', ') || 'none'}`);
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Start a run of a workflow (with --wait: follow it to its end with live progress)')
    .argument('<workflow>', 'workflow name')
    .option('-i, --input <json|@file>', 'run input as JSON, or @path to a JSON file', '{}')
    .option('-w, --wait', 'wait for the run to end, with live progress (locally: execute it in this process)')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (e.g. 30s, 5m); the run goes on', parseDurationArg)
    .option('--priority <n>', 'claim order among due work: higher first, -1000 to 1000 (default 0)', parseIntegerArg(-1000, 1000))
    .option('--json', "print the run as JSON only (the API's Run; with --wait, its RunDetail)")
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .; ignored with AGENTRY_URL)')
    .addHelpText(
      'after',
      `
With AGENTRY_URL (and AGENTRY_API_KEY) set, the run starts on that server and --wait follows its
event stream; otherwise it starts in the project's store and --wait executes it here.

Exit codes: 0 started (or, with --wait, succeeded); 1 failed, cancelled or timed out; 2 bad usage or input.

Examples:
  agentry run hello --input '{"name":"Ada"}' --wait
  agentry run welcome --input @input.json --wait --json
  agentry run welcome --input '{"name":"Ada"}'      # queued; a worker (or the server) executes it`,
    )
    .action(async (name: string, opts: RunOptions) => {
      if (opts.timeout !== undefined && !opts.wait) throw new AgentryError('invalid_request', '--timeout applies only with --wait');
      // Everything the user gave is checked before the store is opened (or created); a server checks it itself.
      const input = readJsonInput(opts.input, ctx.cwd);
      const config = configFrom(ctx, { projectDir: opts.dir });
      const remote = isRemote(config);
      let project: Project | undefined;
      if (remote) noteRemoteDir(ctx, config, opts.dir);
      else {
        project = await loadProjectOrThrow(config, ctx.env);
        const wf = findWorkflow(project, name);
        if (wf.inputSchema) assertMatches(wf.inputSchema, input, 'input_invalid', `input of workflow '${name}'`);
      }
      const wait = opts.wait === true;
      const redactor = redactorFor(config);
      const options = { createStore: true, execute: wait, interactive: wait, redactor, ...(project ? { project } : {}) };
      const tracing = { role: 'run', config, logger: loggerFor(config, { interactive: wait, redactor }), redactor };
      await withTracing(ctx, tracing, () =>
        withRunsApi(ctx, config, options, async (api) => {
          const run = await api.start(name, input, opts.priority === undefined ? {} : { priority: opts.priority });
          const cli = selfCommand(ctx);
          const dir = remote ? '' : dirHint(ctx, config);
          if (wait) {
            const followed = await followRun(ctx, api, run, { json: opts.json === true, ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }) });
            ctx.exitCode = exitCodeOf(followed);
            if (opts.json) return outJson(ctx, followed.detail);
            const continueHint = remote
              ? `It goes on on the server; follow it with:\n    ${cli} runs events ${run.id} --follow`
              : `Its state is saved; a worker picks it up again:\n    ${cli} start worker${dir}`;
            printOutcome(ctx, followed, { continueHint, ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }) });
            printHints(ctx, remote ? `Where to look (on ${api.where})` : 'Where to look', runHints(ctx, run.id, dir));
            return;
          }
          if (opts.json) return outJson(ctx, run);
          const s = outStyle(ctx);
          out(ctx, `${paint(s, 'green', '✓')} Started run ${paint(s, 'bold', run.id)} of ${name} (${run.status})${remote ? ` on ${api.where}` : ''}`);
          if (remote) out(ctx, 'The server executes it.');
          else out(ctx, `A worker executes it: \`${cli} start worker${dir}\` (or use --wait to execute it here).`);
          out(ctx, `Follow it with \`${cli} runs events ${run.id} --follow${dir}\`, or see it with \`${cli} runs get ${run.id}${dir}\`.`);
        }),
      );
    });
}
