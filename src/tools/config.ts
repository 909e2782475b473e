/**
 * A `tools/*.yaml` spec turned into what a connection needs: defaults applied, durations in
 * milliseconds, and — only when connecting — `{{ env.NAME }}` templates in `env` and `headers`
 * rendered from the Agentry process environment. Rendered values are secrets: they go to the
 * child process or the HTTP request and nowhere else.
 */
import path from 'node:path';
import { AgentryError } from '../lib/errors.js';
import type { Problem } from '../spec/diagnostics.js';
import { parseDuration } from '../lib/duration.js';
import type { ToolSpec } from '../spec/schemas.js';
import { renderTemplate, templateReferences } from '../spec/template.js';

export const TOOL_DEFAULTS = {
  timeoutMs: 60_000,
  connectTimeoutMs: 30_000,
  restart: { maxRestarts: 5, windowMs: 10 * 60_000, initialMs: 500, maxMs: 30_000 },
} as const;

export const TRANSPORTS = { stdio: 'stdio', http: 'http' } as const;
export type ToolTransport = (typeof TRANSPORTS)[keyof typeof TRANSPORTS];

export const ON_REJECT = { fail: 'fail', recover: 'recover' } as const;
/** `fail`: the agent step fails `tool_rejected`. `recover`: the model is told the call was refused and goes on. */
export type OnReject = (typeof ON_REJECT)[keyof typeof ON_REJECT];

export interface RestartPolicy {
  /** Reconnects after a lost connection allowed within `windowMs`. */
  maxRestarts: number;
  windowMs: number;
  /** Wait before a reconnect: `initialMs * 2^(restarts in the window)`, at most `maxMs`. */
  initialMs: number;
  maxMs: number;
}

export interface ServerConfig {
  name: string;
  transport: ToolTransport;
  timeoutMs: number;
  connectTimeoutMs: number;
  restart: RestartPolicy;
  /** Tools the server may expose; undefined means all. */
  allow: ReadonlySet<string> | undefined;
  /** `require_approval`: true for every tool, or the tools named. */
  requireApproval: boolean | ReadonlySet<string>;
  /** `on_reject`: what a reviewer's refusal of a call that needs approval does to the agent step. */
  onReject: OnReject;
  /** `approval_role`: who may decide approvals of this server's calls (undefined: anyone with tasks:write). */
  approvalRole: string | undefined;
  spec: ToolSpec;
}

export interface StdioLaunch {
  transport: 'stdio';
  command: string;
  args: string[];
  cwd: string;
  /** Only the declared variables; the SDK adds PATH, HOME, USER, LOGNAME, SHELL and TERM. */
  env: Record<string, string>;
}

export interface HttpLaunch {
  transport: 'http';
  url: URL;
  headers: Record<string, string>;
}

export type Launch = StdioLaunch | HttpLaunch;

/** Defaults applied and durations parsed; throws `invalid_request` for a spec the schema cannot rule out. */
export function serverConfig(spec: ToolSpec, defaultTimeoutMs: number = TOOL_DEFAULTS.timeoutMs): ServerConfig {
  const problems = toolSpecProblems(spec);
  const first = problems[0];
  if (first !== undefined) throw new AgentryError('invalid_request', `tool server '${spec.name}': ${first.message}`);
  const restart = spec.restart;
  const d = TOOL_DEFAULTS.restart;
  return {
    name: spec.name,
    transport: spec.command !== undefined ? 'stdio' : 'http',
    timeoutMs: spec.timeout === undefined ? defaultTimeoutMs : parseDuration(spec.timeout),
    connectTimeoutMs: spec.connect_timeout === undefined ? TOOL_DEFAULTS.connectTimeoutMs : parseDuration(spec.connect_timeout),
    restart: {
      maxRestarts: restart?.max_restarts ?? d.maxRestarts,
      windowMs: restart?.window === undefined ? d.windowMs : parseDuration(restart.window),
      initialMs: restart?.backoff?.initial === undefined ? d.initialMs : parseDuration(restart.backoff.initial),
      maxMs: restart?.backoff?.max === undefined ? d.maxMs : parseDuration(restart.backoff.max),
    },
    allow: spec.allow === undefined ? undefined : new Set(spec.allow),
    requireApproval: Array.isArray(spec.require_approval) ? new Set(spec.require_approval) : (spec.require_approval ?? false),
    onReject: spec.on_reject ?? ON_REJECT.fail,
    approvalRole: spec.approval_role,
    spec,
  };
}

/**
 * Problems a schema-valid tool spec can still have: not exactly one transport, fields of the
 * other transport, `{{ }}` templates that read anything but `env.NAME`. (For `agentry validate`.)
 */
export function toolSpecProblems(spec: ToolSpec): Problem[] {
  const problems: Problem[] = [];
  if ((spec.command === undefined) === (spec.url === undefined)) {
    problems.push({ path: [], message: 'a tool server needs exactly one of command (stdio) and url (HTTP)' });
    return problems;
  }
  const misplaced = spec.command !== undefined ? (['headers'] as const) : (['args', 'cwd', 'env'] as const);
  for (const key of misplaced) {
    if (spec[key] !== undefined) {
      problems.push({ path: [key], atKey: true, message: `${key} applies only to ${key === 'headers' ? 'HTTP (url)' : 'stdio (command)'} servers` });
    }
  }
  for (const key of ['env', 'headers'] as const) {
    for (const [name, value] of Object.entries(spec[key] ?? {})) {
      const refs = templateReferences(value);
      for (const expr of refs.expressions) {
        if (expr.error !== undefined) problems.push({ path: [key, name], message: `template is malformed: ${expr.error}` });
      }
      if (refs.steps.size > 0) problems.push({ path: [key, name], message: 'tool server templates may read only env.NAME' });
    }
  }
  if (spec.restart?.backoff?.initial !== undefined && spec.restart.backoff.max !== undefined) {
    if (parseDuration(spec.restart.backoff.initial) > parseDuration(spec.restart.backoff.max)) {
      problems.push({ path: ['restart', 'backoff'], message: 'initial must not be longer than max' });
    }
  }
  return problems;
}

/**
 * The process to spawn or the URL to reach, with `{{ env.NAME }}` rendered from `env`.
 * A variable that is read but unset fails with a non-retryable `tool_unavailable` naming it.
 */
export function resolveLaunch(config: ServerConfig, env: Readonly<Record<string, string | undefined>>, projectDir: string): Launch {
  const { spec } = config;
  if (spec.command !== undefined) {
    return {
      transport: 'stdio',
      command: spec.command,
      args: spec.args ?? [],
      cwd: path.resolve(projectDir, spec.cwd ?? '.'),
      env: renderValues(config.name, 'env', spec.env ?? {}, env),
    };
  }
  return {
    transport: 'http',
    url: new URL(spec.url ?? ''),
    headers: renderValues(config.name, 'headers', spec.headers ?? {}, env),
  };
}

function renderValues(
  server: string,
  field: 'env' | 'headers',
  values: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const read = new Set<string>();
  for (const value of Object.values(values)) for (const name of templateReferences(value).env) read.add(name);
  const missing = [...read].filter((name) => env[name] === undefined).sort();
  if (missing.length > 0) {
    const list = missing.join(', ');
    throw new AgentryError(
      'tool_unavailable',
      `tool server '${server}' reads environment variable${missing.length > 1 ? 's' : ''} ${list} in ${field}, which ${missing.length > 1 ? 'are' : 'is'} not set`,
      { details: { server, missing_env: missing } },
    );
  }
  const scopeEnv: Record<string, string> = {};
  for (const name of read) scopeEnv[name] = env[name] ?? '';
  const scope = { input: null, steps: {}, run: { id: '', workflow: '' }, env: scopeEnv };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    let rendered: unknown;
    try {
      rendered = renderTemplate(value, scope);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new AgentryError('tool_unavailable', `tool server '${server}' ${field}.${key}: ${message}`, { details: { server }, cause: error });
    }
    out[key] = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  }
  return out;
}
