/**
 * The host side of a plugin's runtime context: every `ctx.fetch`, `ctx.fs` and `ctx.env` of a
 * plugin is carried out here, in the Agentry process, against the permissions its lock entry
 * accepted. A host outside `network.hosts`, a path outside `fs.read`/`fs.write` (resolved,
 * symlinks followed, so a link cannot lead out) is refused with `plugin_permission_denied`; an
 * env var not in `env` reads as undefined. Each network and filesystem call, allowed or not, is
 * handed to the recorder with the plugin, host or path, run and tenant.
 */
import { existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentryError } from '../lib/errors.js';
import type { PluginManifest } from '../spec/plugin-manifest.js';

type Permissions = PluginManifest['permissions'];

/** One network or filesystem call of a plugin, as the audit log records it. */
export interface PluginAccess {
  plugin: string;
  op: 'fetch' | 'fs.read' | 'fs.write';
  /** `host[:port]` for fetch, the resolved path for fs. */
  target: string;
  allowed: boolean;
  tenant: string | undefined;
  run: string | undefined;
  /** `proxy`: a connection of a `process` plugin through its egress proxy (not `ctx.fetch`); `sandbox`: one refused inside its process (a socket around the proxy, UDP, a name lookup). */
  via?: 'proxy' | 'sandbox';
}

export type PluginAccessRecorder = (access: PluginAccess) => void;

/** Who a call is made for. */
export interface CallScope {
  tenantId: string | undefined;
  runId: string | undefined;
}

/** What a plugin's `ctx.fetch` answers (plain data: it crosses a thread or process boundary). */
export interface PluginFetchResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface PluginFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

/** The plugin's own data directory (`${data}` in its manifest). */
export function pluginDataDir(projectDir: string, plugin: string): string {
  return path.join(projectDir, '.agentry', 'plugins', 'data', plugin);
}

/** A declared path, absolute. */
export function declaredPath(projectDir: string, plugin: string, declared: string): string {
  const data = pluginDataDir(projectDir, plugin);
  const expanded = declared.replace(/^\$\{data\}/, data);
  return path.resolve(projectDir, expanded);
}

/** The real path of `target`, or of its nearest existing ancestor joined with the rest (for a file to be created). */
function realish(target: string): string {
  let dir = target;
  const rest: string[] = [];
  while (!existsSync(dir)) {
    rest.unshift(path.basename(dir));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(realpathSync(dir), ...rest);
}

function inside(child: string, root: string): boolean {
  return child === root || child.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`);
}

function hostMatches(declared: string, hostname: string, port: string): boolean {
  const [pattern, wantPort] = declared.toLowerCase().split(':') as [string, string | undefined];
  if (wantPort !== undefined && wantPort !== port) return false;
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
  return hostname === pattern;
}

export class PluginGuard {
  private readonly readRoots: string[];
  private readonly writeRoots: string[];

  constructor(
    readonly plugin: string,
    private readonly permissions: Permissions,
    private readonly projectDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly record: PluginAccessRecorder,
  ) {
    const resolve = (list: string[] | undefined) => (list ?? []).map((p) => declaredPath(projectDir, plugin, p));
    this.writeRoots = resolve(permissions.fs?.write);
    this.readRoots = [...resolve(permissions.fs?.read), ...this.writeRoots];
  }

  /** The declared env vars that are set (what `ctx.env` holds). */
  envVars(): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const name of this.permissions.env ?? []) {
      const value = this.env[name];
      if (value !== undefined) vars[name] = value;
    }
    return vars;
  }

  /** The roots as they exist on disk (created for write roots), for the process sandbox's flags. */
  sandboxPaths(): { read: string[]; write: string[] } {
    for (const root of this.writeRoots) mkdirSync(root, { recursive: true });
    const real = (roots: string[]) => roots.filter((r) => existsSync(r)).map((r) => realpathSync(r));
    return { read: real(this.readRoots), write: real(this.writeRoots) };
  }

  private denied(op: PluginAccess['op'], target: string, scope: CallScope, why: string): AgentryError {
    this.record({ plugin: this.plugin, op, target, allowed: false, tenant: scope.tenantId, run: scope.runId });
    return new AgentryError('plugin_permission_denied', `plugin ${this.plugin}: ${why}`, { details: { plugin: this.plugin, op, target } });
  }

  /** Records what the `process` sandbox (Node's permission model) refused. */
  recordSandboxRefusal(target: string, scope: CallScope): void {
    this.record({ plugin: this.plugin, op: 'fs.read', target, allowed: false, tenant: scope.tenantId, run: scope.runId });
  }

  /** Whether the plugin's egress proxy may connect it to `hostname:port` (recorded as a `fetch` via the proxy). */
  egress(hostname: string, port: string, scope: CallScope): boolean {
    const allowed = (this.permissions.network?.hosts ?? []).some((h) => hostMatches(h, hostname.toLowerCase(), port));
    this.record({ plugin: this.plugin, op: 'fetch', target: `${hostname}:${port}`, allowed, tenant: scope.tenantId, run: scope.runId, via: 'proxy' });
    return allowed;
  }

  /** Records a network reach the `process` sandbox refused (`host:port`, a socket path, `udp`, `dns:<name>`). */
  recordNetRefusal(target: string, scope: CallScope): void {
    this.record({ plugin: this.plugin, op: 'fetch', target, allowed: false, tenant: scope.tenantId, run: scope.runId, via: 'sandbox' });
  }

  async fetch(url: string, init: PluginFetchInit, scope: CallScope, signal: AbortSignal): Promise<PluginFetchResponse> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AgentryError('invalid_request', `plugin ${this.plugin}: ctx.fetch got an invalid URL '${url}'`);
    }
    const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
    const target = `${parsed.hostname}:${port}`;
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw this.denied('fetch', target, scope, `${parsed.protocol} URLs are not allowed`);
    const hosts = this.permissions.network?.hosts ?? [];
    if (!hosts.some((h) => hostMatches(h, parsed.hostname.toLowerCase(), port))) {
      throw this.denied('fetch', target, scope, `host ${parsed.host} is not among its declared network hosts (${hosts.join(', ') || 'none'})`);
    }
    this.record({ plugin: this.plugin, op: 'fetch', target, allowed: true, tenant: scope.tenantId, run: scope.runId });
    const response = await fetch(parsed, {
      method: init.method ?? 'GET',
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined ? {} : { body: init.body }),
      // A redirect elsewhere would leave the declared hosts: the plugin gets the 3xx and decides.
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]),
    });
    const buffer = Buffer.from(await response.arrayBuffer());
    if (buffer.length > MAX_RESPONSE_BYTES) throw new AgentryError('response_too_large', `plugin ${this.plugin}: response of ${parsed.host} is over 10 MiB`);
    return { status: response.status, headers: Object.fromEntries(response.headers.entries()), body: buffer.toString('utf8') };
  }

  /** The checked real path of `file` under `roots`. */
  private check(op: 'fs.read' | 'fs.write', file: string, roots: string[], scope: CallScope): string {
    const abs = path.resolve(this.projectDir, file);
    let real: string;
    try {
      real = realish(abs);
    } catch {
      throw this.denied(op, abs, scope, `${abs} cannot be resolved`);
    }
    const realRoots = roots.filter((r) => existsSync(r)).map((r) => realpathSync(r));
    if (!realRoots.some((root) => inside(real, root))) {
      const kind = op === 'fs.read' ? 'read' : 'write';
      throw this.denied(op, abs, scope, `${kind} of ${abs} is outside its declared fs.${kind} paths`);
    }
    if (op === 'fs.write' && existsSync(abs) && lstatSync(abs).isSymbolicLink()) throw this.denied(op, abs, scope, `${abs} is a symbolic link`);
    this.record({ plugin: this.plugin, op, target: real, allowed: true, tenant: scope.tenantId, run: scope.runId });
    return real;
  }

  async readFile(file: string, scope: CallScope): Promise<string> {
    const real = this.check('fs.read', file, this.readRoots, scope);
    const text = await readFile(real, 'utf8');
    if (text.length > MAX_FILE_BYTES) throw new AgentryError('payload_too_large', `plugin ${this.plugin}: ${file} is over 10 MiB`);
    return text;
  }

  async writeFile(file: string, data: string, scope: CallScope): Promise<void> {
    for (const root of this.writeRoots) mkdirSync(root, { recursive: true });
    const real = this.check('fs.write', file, this.writeRoots, scope);
    if (data.length > MAX_FILE_BYTES) throw new AgentryError('payload_too_large', `plugin ${this.plugin}: a write over 10 MiB`);
    mkdirSync(path.dirname(real), { recursive: true });
    await writeFile(real, data);
  }
}
