/**
 * The reverse-proxy examples of `deploy/proxy/` run for real: each shipped file rendered with a
 * test's ports, certificate and upstream, then nginx or Caddy started in the foreground as a
 * child process, and HTTPS requests through it.
 *
 * Rendering replaces only the values the files' header comments name (host ports, certificate
 * paths, upstream addresses, log paths) and adds what an unprivileged foreground run needs (temp
 * directories for nginx; Caddy's ports and certificate); each replacement must match, so a
 * shipped file that drifts from what is tested fails here rather than going untested.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { delimiter, join } from 'node:path';
import { REPO } from './cli.js';

export const API_HOST = 'agentry.example.com';
export const GATEWAY_HOST = 'gateway.agentry.example.com';

/** The executable `name` on PATH or in the sbin folders (nginx lives in /usr/sbin, off a user's PATH). */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Certificate {
  cert: string;
  key: string;
  ca: Buffer;
}

/** A self-signed certificate for both example host names and 127.0.0.1, made by openssl, valid for `days`. */
export function selfSignedCertificate(dir: string, days = 1): Certificate {
  const cert = join(dir, 'proxy.crt');
  const key = join(dir, 'proxy.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${API_HOST}`,
      '-addext',
      `subjectAltName=DNS:${API_HOST},DNS:${GATEWAY_HOST},IP:127.0.0.1`,
      '-days',
      String(days),
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, ca: readFileSync(cert) };
}

export interface ProxyPorts {
  /** Where the proxy redirects plain HTTP (the shipped files: 80). */
  http: number;
  /** Where it serves HTTPS (the shipped files: 443). */
  https: number;
  /** The `agentry serve` behind it (the shipped files: 127.0.0.1:7700). */
  upstream: number;
}

/** Replaces every occurrence of `from`; throws when there is none (the shipped file changed). */
function replace(text: string, from: string | RegExp, to: string, file: string): string {
  const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : from;
  if (!pattern.test(text)) throw new Error(`${file}: expected to find ${String(from)}; update test/helpers/proxy.ts with the shipped file`);
  pattern.lastIndex = 0;
  return text.replace(pattern, to);
}

const NGINX_SHIPPED = join(REPO, 'deploy/proxy/nginx.conf');
const CADDY_SHIPPED = join(REPO, 'deploy/proxy/Caddyfile');

/**
 * deploy/proxy/nginx.conf for a run in `dir`: listening on 127.0.0.1 at the test's ports, the
 * certificate copied to the file names it expects, the access log and temp files in `dir`.
 */
export function renderNginx(dir: string, ports: ProxyPorts, certificate: Certificate): { file: string; accessLog: string } {
  const file = 'deploy/proxy/nginx.conf';
  const tls = join(dir, 'tls');
  mkdirSync(tls, { recursive: true });
  for (const host of [API_HOST, GATEWAY_HOST]) {
    copyFileSync(certificate.cert, join(tls, `${host}.crt`));
    copyFileSync(certificate.key, join(tls, `${host}.key`));
  }
  let text = readFileSync(NGINX_SHIPPED, 'utf8');
  text = replace(text, /listen 80;/g, `listen 127.0.0.1:${ports.http};`, file);
  text = replace(text, /listen 443 ssl/g, `listen 127.0.0.1:${ports.https} ssl`, file);
  text = replace(text, '/etc/nginx/tls/', `${tls}/`, file);
  text = replace(text, '/var/log/nginx/', `${dir}/`, file);
  text = replace(text, 'server 127.0.0.1:7700;', `server 127.0.0.1:${ports.upstream};`, file);
  // Debian's nginx keeps request bodies and buffered answers in /var/lib/nginx: here, in `dir`.
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `    ${name}_temp_path ${join(dir, `${name}_temp`)};`);
  text = replace(text, /^http \{$/m, `http {\n${temps.join('\n')}`, file);
  const out = join(dir, 'nginx.conf');
  writeFileSync(out, text);
  return { file: out, accessLog: join(dir, 'agentry.access.log') };
}

/** nginx's command-line for a foreground, single-process, unprivileged run of `config` (add `-t` to check it). */
export function nginxArgs(dir: string, config: string): string[] {
  return ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', config, '-g', `daemon off; master_process off; pid ${join(dir, 'nginx.pid')};`];
}

/**
 * deploy/proxy/Caddyfile for a run: the test's HTTP and HTTPS ports, the admin API off, the
 * upstream at the test's `agentry serve`, and the certificate on both sites (instead of ACME).
 */
export function renderCaddyfile(dir: string, ports: ProxyPorts, certificate: Certificate): string {
  const file = 'deploy/proxy/Caddyfile';
  let text = readFileSync(CADDY_SHIPPED, 'utf8');
  text = replace(text, /^\tadmin localhost:2019$/m, `\tadmin off\n\thttp_port ${ports.http}\n\thttps_port ${ports.https}`, file);
  // A test's open event stream need not hold Caddy's stop up for the shipped 10 s.
  text = replace(text, /^\tgrace_period 10s$/m, '\tgrace_period 1s', file);
  text = replace(text, 'reverse_proxy 127.0.0.1:7700', `reverse_proxy 127.0.0.1:${ports.upstream}`, file);
  for (const host of [API_HOST, GATEWAY_HOST]) {
    text = replace(text, new RegExp(`^${host.replace(/\./g, '\\.')} \\{$`, 'm'), `${host} {\n\ttls ${certificate.cert} ${certificate.key}`, file);
  }
  const out = join(dir, 'Caddyfile');
  writeFileSync(out, text);
  return out;
}

/** Caddy's environment: its data and config folders (certificates, autosave) inside `dir`. */
export function caddyEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
}

export interface ProxyProcess {
  child: ChildProcess;
  readonly output: string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `command` in the foreground, keeping its output. */
export function startProxy(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ProxyProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    get output() {
      return output;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ProxyRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request over HTTPS to 127.0.0.1:`port` for the API's host name (SNI and Host), trusting `ca`; no connection is kept. */
export function httpsTo(port: number, ca: Buffer, req: ProxyRequest): Promise<Answer> {
  return send(httpsRequest, { port, ca, servername: API_HOST }, req);
}

/** The same over plain HTTP. */
export function httpTo(port: number, req: ProxyRequest): Promise<Answer> {
  return send(httpRequest, { port }, req);
}

function send(requester: typeof httpsRequest, base: object, { method = 'GET', path, headers = {}, body }: ProxyRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = requester({ ...base, host: '127.0.0.1', method, path, agent: false, headers: { host: API_HOST, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Polls `/livez` through the proxy until it answers 200 (rejects when the proxy exits first). */
export async function waitUntilServing(proxy: ProxyProcess, port: number, ca: Buffer): Promise<void> {
  for (;;) {
    if (proxy.child.exitCode !== null || proxy.child.signalCode !== null) throw new Error(`the proxy exited:\n${proxy.output}`);
    const answer = await httpsTo(port, ca, { path: '/livez' }).catch(() => undefined);
    if (answer?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Opens a run's event stream through the proxy and resolves with the first frame that has an
 * `id:` (an event), the stream still open; the request is then dropped.
 */
export function firstStreamedEvent(port: number, ca: Buffer, runId: string, auth: Record<string, string>): Promise<{ contentType: string; frame: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        ca,
        servername: API_HOST,
        agent: false,
        path: `/v1/runs/${runId}/events`,
        headers: { host: API_HOST, accept: 'text/event-stream', ...auth },
      },
      (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          const frame = buffer.split('\n\n').find((text) => text.split('\n').some((line) => line.startsWith('id: ')));
          if (frame === undefined) return;
          resolve({ contentType: String(res.headers['content-type']), frame });
          request.destroy();
        });
        res.on('end', () => reject(new Error(`the stream ended before an event arrived:\n${buffer}`)));
        res.on('error', () => undefined);
      },
    );
    request.on('error', (error) => (request.destroyed ? undefined : reject(error)));
    request.end();
  });
}
