/**
 * The code that runs a plugin, in a worker thread (`in-process`) or a child Node process under
 * the permission model (`process`), as plain JavaScript source (started with `eval`/`-e`, so it
 * needs no file of its own beside the bundle). It imports the plugin's module and answers the
 * host's calls; the plugin's `ctx` is built here and every reach outside (fetch, fs, kv, log)
 * is a message to the host, which enforces the manifest (`plugin-guard.ts`).
 *
 * Host → runner: `{ type: 'call', id, kind, name, args, scope, env }`, `{ type: 'abort', id }`,
 * `{ type: 'reply', rpc, ok, value | error }`. Runner → host: `{ type: 'ready' | 'load_failed' }`,
 * `{ type: 'result', id, ok, value | error }`, `{ type: 'rpc', rpc, call, op, args }`, `{ type: 'log', … }`,
 * `{ type: 'refused', call, target }` (a socket, UDP or lookup refused in a `process` plugin).
 *
 * In a `process` plugin (`AGENTRY_PLUGIN_PROXY` set) the network goes through the host's egress
 * proxy (`plugin-egress.ts`), before the plugin's module loads: Node's `fetch` uses undici's
 * `ProxyAgent` (one per call, its `Proxy-Authorization` naming the call, followed with
 * `AsyncLocalStorage`), `HTTP_PROXY`/`HTTPS_PROXY` are set for other clients, and a socket to
 * anywhere but the proxy, UDP and name lookups are refused (`net.Socket#connect`, `dgram`, `dns`
 * replaced, not writable): Node's permission model has no network permission to do it for us.
 */
export const RUNNER_SOURCE = String.raw`
const entry = process.env.AGENTRY_PLUGIN_ENTRY ?? (await import('node:worker_threads')).workerData?.entry;
const wt = await import('node:worker_threads');
const port = wt.parentPort;
const send = port ? (m) => port.postMessage(m) : (m) => process.send(m);
const onMessage = port ? (f) => port.on('message', f) : (f) => process.on('message', f);
const pending = new Map();
const calls = new Map();
let seq = 0;
const { AsyncLocalStorage } = await import('node:async_hooks');
const currentCall = new AsyncLocalStorage();
if (process.env.AGENTRY_PLUGIN_PROXY) {
  const proxy = new URL(process.env.AGENTRY_PLUGIN_PROXY);
  const token = process.env.AGENTRY_PLUGIN_PROXY_TOKEN;
  const undiciEntry = process.env.AGENTRY_PLUGIN_UNDICI;
  for (const name of ['AGENTRY_PLUGIN_PROXY', 'AGENTRY_PLUGIN_PROXY_TOKEN', 'AGENTRY_PLUGIN_UNDICI']) delete process.env[name];
  const { createRequire, syncBuiltinESMExports } = await import('node:module');
  const { ProxyAgent, setGlobalDispatcher } = createRequire(undiciEntry)(undiciEntry);
  const agents = new Map();
  const agentFor = (id) => {
    let agent = agents.get(id);
    if (!agent) {
      agent = new ProxyAgent({ uri: proxy.href, token: 'Bearer ' + token + '.' + id });
      agents.set(id, agent);
    }
    return agent;
  };
  const dispatcher = {
    dispatch: (options, handler) => agentFor(currentCall.getStore() ?? 0).dispatch(options, handler),
    close: async () => undefined,
    destroy: async () => undefined,
    on() { return this; },
    once() { return this; },
    off() { return this; },
    emit() { return false; },
  };
  setGlobalDispatcher(dispatcher);
  const envProxy = 'http://plugin:' + token + '.0@' + proxy.host;
  process.env.HTTP_PROXY = process.env.HTTPS_PROXY = process.env.http_proxy = process.env.https_proxy = envProxy;
  // Each refusal is reported to the host, which records it like a refused ctx.fetch (via: sandbox).
  const report = (target) => send({ type: 'refused', call: currentCall.getStore() ?? 0, target });
  const refused = (what) => Object.assign(new Error('the plugin process may reach the network only through its egress proxy (' + proxy.host + '): ' + what + ' refused'), { code: 'plugin_permission_denied' });
  const net = await import('node:net');
  const connect = net.Socket.prototype.connect;
  const toProxy = (args) => {
    let o = args[0];
    if (Array.isArray(o)) o = o[0];
    if (typeof o === 'object' && o !== null) return o.path == null && String(o.port) === proxy.port && o.host === proxy.hostname;
    return String(o) === proxy.port && args[1] === proxy.hostname;
  };
  Object.defineProperty(net.Socket.prototype, 'connect', {
    value: function (...args) {
      if (toProxy(args)) return connect.apply(this, args);
      const o = Array.isArray(args[0]) ? args[0][0] : args[0];
      const what = typeof o === 'object' && o !== null ? (o.path ?? (o.host ?? 'localhost') + ':' + o.port) : String(o);
      report(what);
      process.nextTick(() => this.destroy(refused('a connection to ' + what)));
      return this;
    },
    writable: false,
    configurable: false,
  });
  const dgram = await import('node:dgram');
  for (const m of ['send', 'connect']) Object.defineProperty(dgram.Socket.prototype, m, { value: () => { report('udp'); throw refused('UDP'); }, writable: false, configurable: false });
  const dns = (await import('node:dns')).default;
  const deny = (m) => (name) => { report('dns:' + String(name)); throw refused('a name lookup (' + m + ')'); };
  const targets = [dns, dns.promises];
  for (let p = dns.Resolver.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) targets.push(p);
  for (let p = dns.promises.Resolver.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) targets.push(p);
  for (const target of targets) {
    for (const m of Object.getOwnPropertyNames(target)) {
      if (/^(lookup|resolve|reverse)/.test(m) && typeof Object.getOwnPropertyDescriptor(target, m).value === 'function') Object.defineProperty(target, m, { value: deny(m), writable: false, configurable: false });
    }
  }
  syncBuiltinESMExports();
}
function rpc(call, op, args) {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ type: 'rpc', rpc: id, call, op, args });
  });
}
function errorOf(e) {
  return { message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined, code: e && e.code, resource: e && typeof e.resource === 'string' ? e.resource : undefined };
}
function contextFor(msg, controller) {
  const log = (level) => (a, b) => send({ type: 'log', call: msg.id, level, fields: typeof a === 'object' && a !== null ? a : {}, msg: typeof a === 'string' ? a : b });
  return Object.freeze({
    plugin: msg.plugin,
    tenantId: msg.scope.tenantId,
    runId: msg.scope.runId,
    env: Object.freeze({ ...msg.env }),
    signal: controller.signal,
    log: Object.freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }),
    fetch: (url, init = {}) => rpc(msg.id, 'fetch', [String(url), { method: init.method, headers: init.headers, body: init.body }]),
    fs: Object.freeze({
      readFile: (path) => rpc(msg.id, 'fs.read', [String(path)]),
      writeFile: (path, data) => rpc(msg.id, 'fs.write', [String(path), String(data)]),
    }),
    kv: Object.freeze({
      get: (key) => rpc(msg.id, 'kv.get', [String(key)]),
      set: (key, value) => rpc(msg.id, 'kv.set', [String(key), value]),
      delete: (key) => rpc(msg.id, 'kv.delete', [String(key)]),
    }),
  });
}
let plugin;
try {
  const mod = await import(new URL('file://' + entry).href);
  plugin = mod.default ?? mod;
} catch (e) {
  send({ type: 'load_failed', error: errorOf(e) });
  throw e;
}
onMessage(async (msg) => {
  if (msg.type === 'reply') {
    const p = pending.get(msg.rpc);
    if (!p) return;
    pending.delete(msg.rpc);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
    return;
  }
  if (msg.type === 'abort') {
    calls.get(msg.id)?.abort();
    return;
  }
  if (msg.type !== 'call') return;
  const controller = new AbortController();
  calls.set(msg.id, controller);
  try {
    const table = msg.kind === 'step' ? plugin.steps : msg.kind === 'tool' ? plugin.tools : plugin.routes;
    const fn = table && table[msg.name];
    if (typeof fn !== 'function') throw new Error('the plugin module exports no ' + msg.kind + ' ' + msg.name);
    const value = await currentCall.run(msg.id, () => fn(msg.args, contextFor(msg, controller)));
    send({ type: 'result', id: msg.id, ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
  } catch (e) {
    send({ type: 'result', id: msg.id, ok: false, error: errorOf(e) });
  } finally {
    calls.delete(msg.id);
  }
});
send({ type: 'ready' });
`;
