/** `agentry run <workflow>`: starts a run; with `--wait`, executes it here and shows progress. */
import type { Command } from 'commander';
import { loadProjectOrThrow, openAgentry, type Project } from '../../bootstrap.js';
import { assertMatches } from '../../engine/output.js';
import { AgentryError } from '../../errors.js';
import { didYouMean } from '../../spec/diagnostics.js';
import type { CompiledWorkflow } from '../../spec/model.js';
import { paint } from '../format.js';
import { configFrom, dirHint, loggerFor, out, outJson, outStyle, parseDurationArg, readJsonInput, selfCommand, type CliContext } from '../context.js';
import { watchRun } from '../watch.js';

interface RunOptions {
  input: string;
  wait?: boolean;
  json?: boolean;
  timeout?: number;
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
    .description('Start a run of a workflow (with --wait: execute it here and show live progress)')
    .argument('<workflow>', 'workflow name')
    .option('-i, --input <json|@file>', 'run input as JSON, or @path to a JSON file', '{}')
    .option('-w, --wait', 'execute the run in this process and wait for it to end')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (e.g. 30s, 5m); the run goes on', parseDurationArg)
    .option('--json', 'print the run record as JSON only')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .addHelpText('after', `
Exit codes: 0 started (or, with --wait, succeeded); 1 failed, cancelled or timed out; 2 bad usage or input.

Examples:
  agentry run hello --input '{"name":"Ada"}' --wait
  agentry run welcome --input @input.json --wait --json
  agentry run welcome --input '{"name":"Ada"}'      # queued; \`agentry start worker\` executes it`)
    .action(async (name: string, opts: RunOptions) => {
      if (opts.timeout !== undefined && !opts.wait) throw new AgentryError('invalid_request', '--timeout applies only with --wait');
      // Everything the user gave is checked before the store is opened (or created).
      const input = readJsonInput(opts.input, ctx.cwd);
      const config = configFrom(ctx, { projectDir: opts.dir });
      const project = await loadProjectOrThrow(config, ctx.env);
      const wf = findWorkflow(project, name);
      if (wf.inputSchema) assertMatches(wf.inputSchema, input, 'input_invalid', `input of workflow '${name}'`);

      const logger = loggerFor(config, { interactive: opts.wait === true });
      const app = await openAgentry(config, { logger, project, env: ctx.env });
      try {
        const run = await app.engine.startRun(name, input);
        if (opts.wait) {
          ctx.exitCode = await watchRun(ctx, app, run, wf, { json: opts.json === true, ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }) });
          return;
        }
        if (opts.json) {
          outJson(ctx, run);
          return;
        }
        const s = outStyle(ctx);
        const cli = selfCommand(ctx);
        const dir = dirHint(ctx, config);
        out(ctx, `${paint(s, 'green', '✓')} Started run ${paint(s, 'bold', run.id)} of ${name} (${run.status})`);
        out(ctx, `A worker executes it: \`${cli} start worker${dir}\` (or use --wait to execute it here).`);
        out(ctx, `Follow it with \`${cli} runs get ${run.id}${dir}\`.`);
      } finally {
        await app.close();
      }
    });
}
