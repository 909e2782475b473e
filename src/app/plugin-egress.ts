/**
 * The egress proxy of one `process` plugin: an HTTP proxy on 127.0.0.1 (an ephemeral port) that
 * the plugin's process is pointed at (`HTTP_PROXY`/`HTTPS_PROXY`, and Node's `fetch` through
 * undici's `ProxyAgent` set up by `plugin-runner.ts`). It takes `CONNECT host:port` tunnels and
 * absolute-form `http://` requests, and lets through only the hosts (and ports) the plugin's lock
 * entry accepted (`PluginGuard.egress`): the rest answer 403 and are recorded like a refused
 * `ctx.fetch` (plugin, host, run, tenant). A request must carry the runtime's token in
 * `Proxy-Authorization` (`Bearer <token>.<call id>`, or Basic `plugin:<token>.0` from the
 * `HTTP_PROXY` URL), so another local process cannot use the plugin's hosts; the call id names
 * the run and tenant the connection is made for (0: none known).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { CallScope, PluginGuard } from './plugin-guard.js';

/** The scope of a call in flight, by its id (undefined: no such call, such as a connection made while the module loads). */
export type ScopeOf = (callId: number) => CallScope | undefined;

const NO_SCOPE: CallScope = { tenantId: undefined, runId: undefined };

export class EgressProxy {
  /** What the plugin's process presents in `Proxy-Authorization` (with a call id). */
  readonly token = randomBytes(24).toString('hex');
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly guard: PluginGuard,
    private readonly scopeOf: ScopeOf,
    private readonly logger: Logger,
  ) {}

  /** Starts a proxy on an ephemeral loopback port. */
  static async start(guard: PluginGuard, scopeOf: ScopeOf, logger: Logger): Promise<EgressProxy> {
    const proxy = new EgressProxy(guard, scopeOf, logger);
    const server = createServer((req, res) => proxy.forward(req, res));
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => proxy.tunnel(req, socket, head));
    server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.server = server;
    return proxy;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return `http://127.0.0.1:${address?.port ?? 0}`;
  }

  /** The call's scope when the request carries this runtime's token; undefined when it does not. */
  private signedIn(req: IncomingMessage): CallScope | undefined {
    // `Bearer <token>.<call>` (the runner's ProxyAgent), or `Basic` of `plugin:<token>.0` (a client given HTTP_PROXY with the token in it).
    let credential = req.headers['proxy-authorization'] ?? '';
    if (credential.startsWith('Basic '))
      credential = `Bearer ${Buffer.from(credential.slice(6), 'base64')
        .toString('utf8')
        .replace(/^plugin:/, '')}`;
    const match = /^Bearer ([0-9a-f]+)\.(\d+)$/.exec(credential);
    if (match === null) return undefined;
    const given = Buffer.from(match[1]!);
    const expected = Buffer.from(this.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return this.scopeOf(Number(match[2])) ?? NO_SCOPE;
  }

  /** Whether the guard lets the plugin reach `host:port` (recorded either way). */
  private allows(hostname: string, port: string, scope: CallScope): boolean {
    const allowed = this.guard.egress(hostname, port, scope);
    if (!allowed) this.logger.warn({ plugin: this.guard.plugin, host: `${hostname}:${port}` }, 'plugin egress refused by its proxy');
    return allowed;
  }

  private tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const answer = (status: string, why: string): void =>
      void socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`);
    const scope = this.signedIn(req);
    if (scope === undefined) return answer('407 Proxy Authentication Required', 'this proxy serves one plugin process');
    let target: URL;
    try {
      target = new URL(`http://${req.url ?? ''}`);
    } catch {
      return answer('400 Bad Request', `CONNECT needs host:port, not '${req.url ?? ''}'`);
    }
    const hostname = target.hostname.replace(/^\[|\]$/g, '');
    if (target.port === '' || !this.allows(hostname, target.port, scope)) {
      return answer('403 Forbidden', `plugin ${this.guard.plugin}: ${req.url ?? ''} is not among its declared network hosts`);
    }
    const upstream = connect(Number(target.port), hostname, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', (error) => {
      if (socket.writable && upstream.connecting) answer('502 Bad Gateway', error.message);
      else socket.destroy();
    });
    socket.on('close', () => upstream.destroy());
  }

  /** An absolute-form request (`GET http://host/path`), as clients send plain-HTTP requests to a proxy. */
  private forward(req: IncomingMessage, res: ServerResponse): void {
    const refuse = (status: number, why: string) => res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`${why}\n`);
    const scope = this.signedIn(req);
    if (scope === undefined) return void refuse(407, 'this proxy serves one plugin process');
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return void refuse(400, 'a proxy request needs an absolute http:// URL');
    }
    if (target.protocol !== 'http:') return void refuse(400, `only http:// is forwarded (use CONNECT for ${target.protocol})`);
    const port = target.port || '80';
    const hostname = target.hostname.replace(/^\[|\]$/g, '');
    if (!this.allows(hostname, port, scope)) {
      return void refuse(403, `plugin ${this.guard.plugin}: ${hostname}:${port} is not among its declared network hosts`);
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest({ host: hostname, port: Number(port), method: req.method, path: `${target.pathname}${target.search}`, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => (res.headersSent ? res.destroy() : refuse(502, error.message)));
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
