/**
 * `agentry run <workflow>`: starts a run, on the project's store or (with `AGENTRY_URL`) on a
 * server; with `--wait`, follows it to its end with live progress (executing it in this
 * process when local).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
import { isRemote, type RunStartFields } from '../runs-api.js';
import { collectLabel } from './runs.js';
import type { RunOverrides } from '../../types.js';
import { redactorFor } from '../../app/secrets.js';
import { withTracing } from '../tracing.js';
import { withRunsApi } from '../runs-open.js';
import { exitCodeOf, followRun, printHints, printOutcome, runHints } from '../watch.js';

interface RunOptions {
  input: string;
  file?: string;
  label: Array<[string, string]>;
  deadline?: string;
  overrides?: string;
  wait?: boolean;
  json?: boolean;
  timeout?: number;
  priority?: number;
  dir?: string;
}

/** `--overrides`: `{ "steps": { … } }` as JSON or @file. */
function readOverrides(text: string | undefined, cwd: string): RunOverrides | undefined {
  if (text === undefined) return undefined;
  const value = readJsonInput(text, cwd);
  const steps = (value as { steps?: unknown } | null)?.steps;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || steps === null || typeof steps !== 'object' || Array.isArray(steps)) {
    throw new AgentryError('invalid_request', '--overrides must be a JSON object { "steps": { "<step>": { "timeout" | "retry" | "model": … } } }');
  }
  return value as RunOverrides;
}

/** `--file`: the spec's text (a missing or unreadable file is bad usage). */
function readSpecFile(file: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new AgentryError('invalid_request', `--file ${file}: ${(error as Error).message}`, { cause: error });
  }
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
    .description('Start a run of a workflow, or of a spec file with --file (with --wait: follow it to its end with live progress)')
    .argument('[workflow]', 'workflow name (not with --file)')
    .option('-i, --input <json|@file>', 'run input as JSON, or @path to a JSON file', '{}')
    .option('-f, --file <spec.yaml>', 'run this workflow spec file as an ad-hoc run (on a server the key needs specs:write)')
    .option('--label <key:value>', 'a label of the run, in its metadata (repeatable)', collectLabel, [])
    .option('--deadline <duration|time>', "the run's own deadline: a duration (30m) or an ISO 8601 time; past it the run ends timed_out")
    .option('--overrides <json|@file>', 'overrides of settings the workflow marks overridable: {"steps":{"<step>":{"timeout":"30s"}}}')
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
  agentry run welcome --input '{"name":"Ada"}'      # queued; a worker (or the server) executes it
  agentry run --file scratch.yaml --input '{"name":"Ada"}' --label team:support --wait
  agentry run triage --deadline 15m --overrides '{"steps":{"classify":{"model":"fast"}}}'`,
    )
    .action(async (workflow: string | undefined, opts: RunOptions) => {
      if (opts.timeout !== undefined && !opts.wait) throw new AgentryError('invalid_request', '--timeout applies only with --wait');
      if (workflow === undefined && opts.file === undefined)
        throw new AgentryError('invalid_request', 'missing the workflow: give a workflow name, or --file <spec.yaml> for an ad-hoc run');
      if (workflow !== undefined && opts.file !== undefined) throw new AgentryError('invalid_request', 'give a workflow name or --file <spec.yaml>, not both');
      // Everything the user gave is checked before the store is opened (or created); a server checks it itself.
      const input = readJsonInput(opts.input, ctx.cwd);
      const overrides = readOverrides(opts.overrides, ctx.cwd);
      const spec = opts.file === undefined ? undefined : readSpecFile(opts.file, ctx.cwd);
      const name = workflow ?? opts.file ?? '';
      const config = configFrom(ctx, { projectDir: opts.dir });
      const remote = isRemote(config);
      let project: Project | undefined;
      if (remote) noteRemoteDir(ctx, config, opts.dir);
      else {
        project = await loadProjectOrThrow(config, ctx.env);
        if (workflow !== undefined) {
          const wf = findWorkflow(project, workflow);
          if (wf.inputSchema) assertMatches(wf.inputSchema, input, 'input_invalid', `input of workflow '${workflow}'`);
        }
      }
      const fields: RunStartFields = {
        ...(opts.priority === undefined ? {} : { priority: opts.priority }),
        ...(opts.label.length > 0 ? { metadata: Object.fromEntries(opts.label) } : {}),
        ...(overrides === undefined ? {} : { overrides }),
        ...(opts.deadline === undefined ? {} : { deadline: opts.deadline }),
      };
      const wait = opts.wait === true;
      const redactor = redactorFor(config);
      const options = { createStore: true, execute: wait, interactive: wait, redactor, ...(project ? { project } : {}) };
      const tracing = { role: 'run', config, logger: loggerFor(config, { interactive: wait, redactor }), redactor };
      await withTracing(ctx, tracing, () =>
        withRunsApi(ctx, config, options, async (api) => {
          const run = spec === undefined ? await api.start(name, input, fields) : await api.startAdhoc(spec, input, fields);
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
          out(ctx, `${paint(s, 'green', '✓')} Started run ${paint(s, 'bold', run.id)} of ${run.workflow} (${run.status})${remote ? ` on ${api.where}` : ''}`);
          if (remote) out(ctx, 'The server executes it.');
          else out(ctx, `A worker executes it: \`${cli} start worker${dir}\` (or use --wait to execute it here).`);
          out(ctx, `Follow it with \`${cli} runs events ${run.id} --follow${dir}\`, or see it with \`${cli} runs get ${run.id}${dir}\`.`);
        }),
      );
    });
}
