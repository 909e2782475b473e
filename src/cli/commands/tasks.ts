/**
 * `agentry tasks list|show|approve|reject|submit` and `agentry signal`: the people (and the
 * outside world) in the loop. Locally they act on the project's store as an operator (the
 * CLI's user decides as `admin`); with `AGENTRY_URL` they call the server's API with the key
 * in `AGENTRY_API_KEY`, whose grants decide what it may do. `--json` prints what the API returns.
 *
 * Every argument is checked before anything is opened: bad input exits 2 and changes nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import { AgentryError } from '../../lib/errors.js';
import { MAX_COMMENT_LENGTH, SIGNAL_NAME_PATTERN } from '../../app/dto/task-limits.js';
import { TASK_KINDS, TASK_STATUSES, type TaskKind, type TaskStatus } from '../../types.js';
import { paint } from '../format.js';
import {
  configFrom,
  dirHint,
  loggerFor,
  noteRemoteDir,
  out,
  outJson,
  outStyle,
  parseCursorArg,
  parseIntegerArg,
  selfCommand,
  TENANT_OPTION,
  type CliContext,
  DIR_OPTION,
} from '../context.js';
import { RemoteTasksApi, type TaskDecisionInput, type TaskDto, type TasksApi } from '../tasks-api.js';
import { decidedLine, signalLine, taskDetailText, tasksTable } from '../tasks-view.js';

const REMOTE_NOTE = '\nWith AGENTRY_URL (and AGENTRY_API_KEY) set, these commands talk to that server and --dir is ignored.';

/** The server's API when `AGENTRY_URL` is set, else the project's store (never created here). */
async function openTasksApi(ctx: CliContext, config: Config, tenant: string | undefined): Promise<TasksApi> {
  if (config.client.url !== undefined) return new RemoteTasksApi(config.client.url, config.client.apiKey, tenant);
  // Loaded only for local mode: it opens the store and the engine.
  const { openLocalTasksApi } = await import('../tasks-local.js');
  return openLocalTasksApi(config, { logger: loggerFor(config), env: ctx.env, caller: localOperator(ctx.env, tenant) });
}

/** Configuration and the tasks of the server or the store (of `tenant` with `--tenant`), open for the duration of `fn`. */
async function withTasks<T>(ctx: CliContext, dir: string | undefined, fn: (api: TasksApi, config: Config) => Promise<T>, tenant?: string): Promise<T> {
  const config = configFrom(ctx, { projectDir: dir });
  noteRemoteDir(ctx, config, dir);
  const api = await openTasksApi(ctx, config, tenant);
  try {
    return await fn(api, config);
  } finally {
    await api.close();
  }
}

// Argument parsers: commander reports their errors as usage errors (exit 2).

function parseTaskStatuses(value: string): TaskStatus[] | 'all' {
  if (value.trim() === 'all') return 'all';
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.filter((s) => !(TASK_STATUSES as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `${bad.length > 0 ? `unknown status ${bad.map((b) => `'${b}'`).join(', ')}; ` : ''}use a comma-separated list of ${TASK_STATUSES.join(', ')}, or all.`,
    );
  }
  return items as TaskStatus[];
}

function parseJsonArg(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`is not valid JSON: ${(error as Error).message}`);
  }
}

function parseComment(value: string): string {
  if (value.length > MAX_COMMENT_LENGTH) throw new InvalidArgumentError(`must be at most ${MAX_COMMENT_LENGTH} characters (got ${value.length}).`);
  return value;
}

function parseSignalName(value: string): string {
  if (!new RegExp(SIGNAL_NAME_PATTERN).test(value))
    throw new InvalidArgumentError("must be 1–64 letters, digits or _.- (as in the step's wait: { signal: <name> }).");
  return value;
}

/** `--data-file`: a file holding JSON (relative to the current directory). */
function readDataFile(file: string, cwd: string): unknown {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw new AgentryError('invalid_request', `data file ${file} does not exist`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AgentryError('invalid_request', `cannot read data file ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AgentryError('invalid_request', `data file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

interface DataOptions {
  data?: unknown;
  dataFile?: string;
}

/** The payload of `--data` or `--data-file` (they exclude each other), or undefined without either. */
function dataOf(ctx: CliContext, opts: DataOptions): unknown {
  if (opts.dataFile !== undefined) return readDataFile(opts.dataFile, ctx.cwd);
  return opts.data;
}

/** `--data <json>` and `--data-file <file>` (one or the other) for `what`; `note` ends both descriptions. */
function dataOptions(command: Command, what: string, note = ''): Command {
  return command
    .addOption(new Option('--data <json>', `${what} as inline JSON${note}`).argParser(parseJsonArg).conflicts('dataFile'))
    .addOption(new Option('--data-file <file>', `${what} from a JSON file${note}`));
}

interface DecideOptions extends DataOptions {
  comment?: string;
  json?: boolean;
  dir?: string;
}

/** Applies one decision and says what happens next. */
async function decide(ctx: CliContext, id: string, input: TaskDecisionInput, opts: DecideOptions): Promise<void> {
  await withTasks(ctx, opts.dir, async (api, config) => {
    const task = await api.complete(id, input);
    if (opts.json) return outJson(ctx, task);
    const s = outStyle(ctx);
    out(ctx, decidedLine(s, task));
    out(ctx, paint(s, 'gray', nextStep(ctx, api, config, task)));
  });
}

function nextStep(ctx: CliContext, api: TasksApi, config: Config, task: TaskDto): string {
  const cli = selfCommand(ctx);
  const dir = api.mode === 'local' ? dirHint(ctx, config) : '';
  const who =
    api.mode === 'local'
      ? `A worker continues the run (\`${cli} start worker${dir}\`, or the \`run --wait\` that started it).`
      : 'The server continues the run.';
  return `${who} Follow it with \`${cli} runs events ${task.run_id} --follow${dir}\`.`;
}

export function registerTasks(program: Command, ctx: CliContext): void {
  const tasks = program
    .command('tasks')
    .description('Human tasks: list and show what waits for a decision, then approve, reject or submit it')
    .addHelpText('after', `${REMOTE_NOTE}\nLocally, the store is operator access: you decide as admin (named $USER).`);

  tasks
    .command('list')
    .description('List tasks, newest first (open ones by default)')
    .option('--status <statuses>', `comma-separated statuses (${TASK_STATUSES.join(', ')}), or all`, parseTaskStatuses, ['open'] as TaskStatus[] | 'all')
    .option('--role <role>', 'only tasks for this role')
    .option('--workflow <name>', 'only tasks of this workflow')
    .option('--run <id>', 'only tasks of this run')
    .addOption(new Option('--kind <kind>', 'only tasks of this kind').choices(TASK_KINDS))
    .option('--limit <n>', 'tasks per page (1..500)', parseIntegerArg(1, 500), 50)
    .option('--cursor <cursor>', 'next page, from a previous listing', parseCursorArg)
    .option('--json', 'print { items, next_cursor } as GET /v1/tasks does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(
      async (opts: {
        status: TaskStatus[] | 'all';
        role?: string;
        workflow?: string;
        run?: string;
        kind?: TaskKind;
        limit: number;
        cursor?: string;
        json?: boolean;
        tenant?: string;
        dir?: string;
      }) => {
        await withTasks(
          ctx,
          opts.dir,
          async (api, config) => {
            const page = await api.list({
              limit: opts.limit,
              ...(opts.status === 'all' ? {} : { status: opts.status }),
              ...(opts.role === undefined ? {} : { role: opts.role }),
              ...(opts.workflow === undefined ? {} : { workflow: opts.workflow }),
              ...(opts.run === undefined ? {} : { runId: opts.run }),
              ...(opts.kind === undefined ? {} : { kind: opts.kind }),
              ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
            });
            if (opts.json) return outJson(ctx, page);
            const s = outStyle(ctx);
            const which = opts.status === 'all' ? '' : `${opts.status.join(' or ')} `;
            if (page.items.length === 0) return out(ctx, `No ${which}tasks found.`);
            out(ctx, tasksTable(s, page.items));
            if (page.next_cursor) {
              const filters = [
                opts.status === 'all' ? '--status all' : opts.status.join(',') === 'open' ? '' : `--status ${opts.status.join(',')}`,
                opts.role === undefined ? '' : `--role ${opts.role}`,
                opts.workflow === undefined ? '' : `--workflow ${opts.workflow}`,
                opts.run === undefined ? '' : `--run ${opts.run}`,
                opts.kind === undefined ? '' : `--kind ${opts.kind}`,
                opts.tenant === undefined ? '' : `--tenant ${opts.tenant}`,
              ].filter((f) => f !== '');
              const dir = api.mode === 'local' ? dirHint(ctx, config) : '';
              out(ctx, paint(s, 'gray', `\nmore: ${selfCommand(ctx)} tasks list ${[...filters, `--cursor ${page.next_cursor}`].join(' ')}${dir}`));
            }
          },
          opts.tenant,
        );
      },
    );

  tasks
    .command('show')
    .description('Show a task: what it asks, who may decide, its form and context, and its decision')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as GET /v1/tasks/{id} does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { json?: boolean; tenant?: string; dir?: string }) => {
      await withTasks(
        ctx,
        opts.dir,
        async (api, config) => {
          const task = await api.get(id);
          if (opts.json) return outJson(ctx, task);
          out(ctx, taskDetailText(outStyle(ctx), task, selfCommand(ctx), api.mode === 'local' ? dirHint(ctx, config) : ''));
        },
        opts.tenant,
      );
    });

  for (const [decision, description] of [
    ['approve', 'Approve an open task; its run continues'],
    ['reject', 'Reject an open task; its step fails (task_rejected) unless the step says on_reject: continue'],
  ] as const) {
    tasks
      .command(decision)
      .description(description)
      .argument('<id>', 'task id')
      .option('--comment <text>', `why (kept with the decision; at most ${MAX_COMMENT_LENGTH} characters)`, parseComment)
      .option('--json', 'print the decided task as POST /v1/tasks/{id}/complete does')
      .option(...DIR_OPTION)
      .action(async (id: string, opts: DecideOptions) => {
        await decide(ctx, id, { decision, ...(opts.comment === undefined ? {} : { comment: opts.comment }) }, opts);
      });
  }

  dataOptions(
    tasks
      .command('submit')
      .description("Submit data for an open task (checked against the task's form schema); its run continues with it")
      .argument('<id>', 'task id'),
    'the form data',
  )
    .option('--comment <text>', `a note kept with the decision (at most ${MAX_COMMENT_LENGTH} characters)`, parseComment)
    .option('--json', 'print the decided task as POST /v1/tasks/{id}/complete does')
    .option(...DIR_OPTION)
    .addHelpText('after', `\nExample:\n  agentry tasks submit <id> --data '{"reason":"looks fine"}'`)
    .action(async (id: string, opts: DecideOptions) => {
      const data = dataOf(ctx, opts);
      if (data === undefined) throw new AgentryError('invalid_request', "submit needs the form data: --data '<json>' or --data-file <file>");
      await decide(ctx, id, { decision: 'submit', data, ...(opts.comment === undefined ? {} : { comment: opts.comment }) }, opts);
    });
}

export function registerSignal(program: Command, ctx: CliContext): void {
  dataOptions(
    program
      .command('signal')
      .description('Send a signal to a run: the step waiting for it (wait: { signal: <name> }) resumes with the payload as its output')
      .argument('<run-id>', 'run id')
      .argument('<name>', 'signal name (letters, digits, _.-)', parseSignalName),
    'the payload',
    ' (default: null)',
  )
    .option('--json', 'print the answer of POST /v1/runs/{id}/signals/{name}')
    .option(...DIR_OPTION)
    .addHelpText('after', `${REMOTE_NOTE}\nSending the same signal again with the same payload changes nothing; with another payload it is a conflict.`)
    .action(async (runId: string, name: string, opts: DataOptions & { json?: boolean; dir?: string }) => {
      const payload = dataOf(ctx, opts) ?? null;
      await withTasks(ctx, opts.dir, async (api) => {
        const receipt = await api.signal(runId, name, payload);
        if (opts.json) return outJson(ctx, receipt);
        out(ctx, signalLine(outStyle(ctx), receipt));
      });
    });
}
