/**
 * One plugin's runtime: its module runs in a worker thread (`in-process`) or in a child Node
 * process started with the permission model (`process`: reads only of its own directory and the
 * declared paths, writes only of the declared ones, no child processes or workers unless
 * declared, an empty environment, its network only through its egress proxy: `plugin-egress.ts`),
 * and only messages cross (`plugin-runner.ts`). Each call has a
 * timeout; a call that throws, passes its timeout or loses its runtime fails alone with
 * `plugin_failed` naming the plugin. A runtime that hangs or dies is ended and started again
 * for the next call. `stop()` lets calls in flight finish (up to `graceMs`) before ending it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import type { PluginMode } from '../spec/plugin-manifest.js';
import { EgressProxy } from './plugin-egress.js';
import type { CallScope, PluginGuard } from './plugin-guard.js';
import { RUNNER_SOURCE } from './plugin-runner.js';

export type PluginCallKind = 'step' | 'tool' | 'route';

/** Key/value storage of plugins, scoped by the host to (plugin, tenant). */
export interface PluginKv {
  get(plugin: string, tenant: string, key: string): Promise<unknown>;
  set(plugin: string, tenant: string, key: string, value: unknown): Promise<void>;
  delete(plugin: string, tenant: string, key: string): Promise<void>;
}

export interface PluginHostOptions {
  name: string;
  mode: PluginMode;
  /** The plugin's directory and module. */
  dir: string;
  entry: string;
  childProcess: boolean;
  guard: PluginGuard;
  logger: Logger;
  kv?: PluginKv | undefined;
  timeoutMs?: number;
}

export const DEFAULT_PLUGIN_TIMEOUT_MS = 30_000;

interface Runtime {
  send(message: unknown): void;
  stop(): Promise<void>;
  ready: Promise<void>;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  scope: CallScope;
  signal: AbortSignal;
}

type RunnerMessage =
  | { type: 'ready' }
  | { type: 'load_failed'; error: { message: string } }
  | { type: 'result'; id: number; ok: boolean; value?: unknown; error?: { message: string; stack?: string; code?: string; resource?: string } }
  | { type: 'rpc'; rpc: number; call: number; op: string; args: unknown[] }
  | { type: 'refused'; call: number; target: string }
  | { type: 'log'; call: number; level: 'debug' | 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg?: string };

/** The Node flags of a `process` plugin: one `--allow-fs-*` flag per path (a comma list is not split by current Node 20 releases). */
export function permissionFlags(read: string[], write: string[], childProcess: boolean): string[] {
  const major = Number(process.versions.node.split('.')[0]);
  const flags = [major >= 23 ? '--permission' : '--experimental-permission'];
  const list = (flag: string, paths: string[]) => paths.map((p) => `${flag}=${p}`);
  flags.push(...list('--allow-fs-read', read), ...list('--allow-fs-write', write));
  if (childProcess) flags.push('--allow-child-process', '--allow-worker');
  return flags;
}

/** undici's entry (the `process` runner's `fetch` goes through its `ProxyAgent`) and the directory the sandbox must let it read. */
function undiciEntry(): { entry: string; dir: string } {
  const entry = realpathSync(createRequire(import.meta.url).resolve('undici'));
  return { entry, dir: path.dirname(entry) };
}

export class PluginHost {
  private runtime: Runtime | undefined;
  private proxy: Promise<EgressProxy> | undefined;
  private readonly calls = new Map<number, PendingCall>();
  private seq = 0;
  readonly timeoutMs: number;

  constructor(private readonly options: PluginHostOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  }

  get inFlight(): number {
    return this.calls.size;
  }

  private failed(message: string, cause?: unknown): AgentryError {
    return new AgentryError('plugin_failed', `plugin ${this.options.name}: ${message}`, { details: { plugin: this.options.name }, cause });
  }

  /** A failed call's error: a refused reach stays `plugin_permission_denied` (the sandbox's refusals recorded too), the rest is `plugin_failed`. */
  private callError(error: { message: string; stack?: string; code?: string; resource?: string }, scope: CallScope): AgentryError {
    const { name, logger } = this.options;
    if (error.code === 'plugin_permission_denied') return new AgentryError('plugin_permission_denied', error.message, { details: { plugin: name } });
    if (error.code === 'ERR_ACCESS_DENIED') {
      const target = error.resource ?? 'unknown';
      this.options.guard.recordSandboxRefusal(target, scope);
      logger.warn({ plugin: name, resource: target }, 'plugin refused by the process sandbox');
      return new AgentryError('plugin_permission_denied', `plugin ${name}: the process sandbox refused access to ${target}`, {
        details: { plugin: name, path: target },
      });
    }
    logger.error({ plugin: name, err: { message: error.message, stack: error.stack } }, 'plugin call failed');
    return this.failed(error.message);
  }

  /** The egress proxy of a `process` plugin, started with its first runtime and kept until `stop()`. */
  private egress(): Promise<EgressProxy> {
    this.proxy ??= EgressProxy.start(this.options.guard, (id) => this.calls.get(id)?.scope, this.options.logger).catch((error: unknown) => {
      this.proxy = undefined;
      throw this.failed('its egress proxy did not start', error);
    });
    return this.proxy;
  }

  private start(proxy: EgressProxy | undefined): Runtime {
    const { name, mode, dir, entry, guard } = this.options;
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    ready.catch(() => undefined);
    const onMessage = (message: RunnerMessage) => {
      if (message.type === 'ready') readyResolve();
      else if (message.type === 'load_failed') readyReject(this.failed(`its module did not load: ${message.error.message}`));
      else void this.onMessage(message);
    };
    const onExit = (why: string) => {
      readyReject(this.failed(why));
      if (this.runtime === runtime) this.runtime = undefined;
      for (const [id, call] of this.calls) {
        this.calls.delete(id);
        call.reject(this.failed(why));
      }
    };
    let runtime: Runtime;
    if (mode === 'in-process') {
      const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(RUNNER_SOURCE)}`), {
        workerData: { entry },
        env: {},
        stdout: false,
        stderr: false,
      });
      worker.on('message', onMessage);
      worker.on('error', (error) => onExit(`its worker failed: ${error.message}`));
      worker.on('exit', (code) => onExit(`its worker exited (code ${code})`));
      runtime = { send: (m) => worker.postMessage(m), stop: async () => void (await worker.terminate()), ready };
    } else {
      if (proxy === undefined) throw this.failed('a process plugin needs its egress proxy');
      const paths = guard.sandboxPaths();
      const undici = undiciEntry();
      const read = [path.resolve(dir), undici.dir, ...paths.read];
      const flags = permissionFlags(read, paths.write, this.options.childProcess);
      const child: ChildProcess = spawn(process.execPath, [...flags, '--input-type=module', '-e', RUNNER_SOURCE], {
        cwd: dir,
        env: {
          AGENTRY_PLUGIN_ENTRY: entry,
          AGENTRY_PLUGIN_PROXY: proxy.url,
          AGENTRY_PLUGIN_PROXY_TOKEN: proxy.token,
          AGENTRY_PLUGIN_UNDICI: undici.entry,
        },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        ...(process.getuid?.() === 0 && othersCanLoad(entry, [undici.entry, ...paths.read]) ? { uid: NOBODY, gid: NOBODY } : {}),
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child.on('message', (m) => onMessage(m as RunnerMessage));
      child.on('error', (error) => onExit(`its process failed: ${error.message}`));
      child.on('exit', (code, signal) => {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        onExit(`its process exited (${signal ?? `code ${code}`})${tail === '' ? '' : `: ${tail}`}`);
      });
      runtime = {
        send: (m) => child.send(m as object),
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
        ready,
      };
    }
    this.options.logger.debug({ plugin: name, mode }, 'plugin runtime started');
    return runtime;
  }

  private async onMessage(message: RunnerMessage): Promise<void> {
    const { name, logger } = this.options;
    if (message.type === 'result') {
      const call = this.calls.get(message.id);
      if (call === undefined) return;
      this.calls.delete(message.id);
      if (message.ok) call.resolve(message.value);
      else call.reject(this.callError(message.error ?? { message: 'failed' }, call.scope));
      return;
    }
    if (message.type === 'refused') {
      this.options.guard.recordNetRefusal(String(message.target), this.calls.get(message.call)?.scope ?? { tenantId: undefined, runId: undefined });
      return;
    }
    if (message.type === 'log') {
      logger[message.level]({ ...message.fields, plugin: name }, message.msg ?? '');
      return;
    }
    if (message.type !== 'rpc') return;
    const call = this.calls.get(message.call);
    const reply = (ok: boolean, value: unknown) => {
      const error = ok ? undefined : { message: (value as Error).message, code: (value as { code?: string }).code };
      this.runtime?.send({ type: 'reply', rpc: message.rpc, ok, ...(ok ? { value } : { error }) });
    };
    if (call === undefined) return reply(false, new Error('the call has ended'));
    try {
      reply(true, await this.perform(message.op, message.args, call));
    } catch (error) {
      reply(false, error);
    }
  }

  private async perform(op: string, args: unknown[], call: PendingCall): Promise<unknown> {
    const { guard, kv, name } = this.options;
    const [a, b] = args as [string, unknown];
    switch (op) {
      case 'fetch':
        return guard.fetch(a, b ?? {}, call.scope, call.signal);
      case 'fs.read':
        return guard.readFile(a, call.scope);
      case 'fs.write':
        return guard.writeFile(a, String(b), call.scope);
      case 'kv.get':
      case 'kv.set':
      case 'kv.delete': {
        if (kv === undefined) throw new AgentryError('invalid_request', `plugin ${name}: ctx.kv needs a store (not available here)`);
        const tenant = call.scope.tenantId ?? 'default';
        if (op === 'kv.get') return (await kv.get(name, tenant, a)) ?? null;
        if (op === 'kv.set') return void (await kv.set(name, tenant, a, b));
        return void (await kv.delete(name, tenant, a));
      }
      default:
        throw new Error(`unknown operation ${op}`);
    }
  }

  /** Calls a step kind, tool or route of the plugin; `plugin_failed` when it throws, dies or passes the timeout. */
  async call(kind: PluginCallKind, fn: string, args: unknown, scope: CallScope, signal?: AbortSignal): Promise<unknown> {
    if (this.runtime === undefined) {
      const proxy = this.options.mode === 'process' ? await this.egress() : undefined;
      this.runtime ??= this.start(proxy);
    }
    const runtime = this.runtime;
    await runtime.ready;
    // Aborted while the runtime started (a step's timeout, a cancel): the call is not made.
    signal?.throwIfAborted();
    const id = ++this.seq;
    const controller = new AbortController();
    const callSignal = signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]);
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.calls.has(id)) return;
        this.calls.delete(id);
        controller.abort();
        this.options.logger.error({ plugin: this.options.name, kind, fn, timeout_ms: this.timeoutMs }, 'plugin call timed out: its runtime is restarted');
        reject(this.failed(`${kind} ${fn} did not answer within ${this.timeoutMs} ms`));
        // A hung module may never answer again: end the runtime (its other calls fail with it), start anew on the next call.
        if (this.runtime === runtime) this.runtime = undefined;
        void runtime.stop();
      }, this.timeoutMs);
      timer.unref();
      const done =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          f(v);
        };
      this.calls.set(id, { resolve: done(resolve), reject: done(reject), scope, signal: callSignal });
      signal?.addEventListener('abort', () => runtime.send({ type: 'abort', id }), { once: true });
      runtime.send({ type: 'call', id, plugin: this.options.name, kind, name: fn, args, scope, env: this.options.guard.envVars() });
    });
  }

  /** Waits up to `graceMs` for calls in flight, then ends the runtime. */
  async stop(graceMs = 0): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.calls.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const runtime = this.runtime;
    this.runtime = undefined;
    await runtime?.stop();
    const proxy = this.proxy;
    this.proxy = undefined;
    await (await proxy?.catch(() => undefined))?.close();
  }
}

/** Running as root, a `process` plugin runs as `nobody`, so the OS keeps it off root's files too. */
const NOBODY = 65534;

/** Whether `nobody` can load the plugin and reach its declared paths (every ancestor searchable, the files readable by others). */
function othersCanLoad(entry: string, read: string[]): boolean {
  const reachable = (target: string, bit: number): boolean => {
    try {
      if ((statSync(target).mode & bit) === 0) return false;
      for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
        if ((statSync(dir).mode & 0o001) === 0) return false;
        if (path.dirname(dir) === dir) return true;
      }
    } catch {
      return false;
    }
  };
  return reachable(entry, 0o004) && read.every((p) => reachable(p, 0o004));
}
