/**
 * The web console (`ui/`, built by `npm run build` into `dist/ui/`) served at `/ui/` by the API
 * process. Routes of their own, hidden from the OpenAPI document and outside the route table:
 * they need no sign-in (the page holds no data; the console signs in to the API with a key the
 * user types), and no hook is added for them, so the API's routes do exactly what they did.
 *
 * - `/ui/assets/<name>-<hash>.<ext>`: the hashed files, `Cache-Control: public, max-age=31536000, immutable`.
 * - Any other path under `/ui/` (a deep link such as `/ui/runs/run_…`): `index.html`, `no-cache`,
 *   with a strict Content-Security-Policy (scripts and styles from this origin only, no inline
 *   code) and a `<base href>` naming where the console is mounted, so that relative asset URLs
 *   and the API's paths resolve from any depth and under a mount prefix.
 * - `/ui/config.json`: what the console needs to sign in with OIDC (`{ oidc: null }` without an
 *   issuer): the issuer, the console's client id, the audience and the scopes — public values
 *   only (the console is a public client using PKCE; there is no secret). With an issuer, the
 *   CSP's `connect-src` also allows the issuer's origin (discovery and the token endpoint).
 * - A path naming a file outside the console's directory (`..`, encoded or not) is 404.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AgentryError } from '../lib/errors.js';
import type { ConsoleOidc } from './oidc.js';
import { sendProblem } from './problem.js';

/** Where the console is mounted, under the API's base path. */
export const CONSOLE_PATH = '/ui/';

/** No script, style, image or connection but this origin's; no inline code, frames or plugins. */
export const CONSOLE_CSP = consoleCsp(undefined);

/** The CSP; with an OIDC issuer, `connect-src` also allows the issuer's origin (discovery, token endpoint). */
export function consoleCsp(issuer: string | undefined): string {
  const connect = issuer === undefined ? "connect-src 'self'" : `connect-src 'self' ${new URL(issuer).origin}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    connect,
    "manifest-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The built console's directory: `dist/ui` beside the compiled server (`dist/server/…`) or the
 * bundle (`dist/bundle/…`), or the checkout's `dist/ui` when running from `src/`. Undefined when
 * it has not been built.
 */
export function consoleDir(): string | undefined {
  const candidates = [new URL('../ui/', import.meta.url), new URL('../../dist/ui/', import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/** The file under `root` a request path (after `/ui/`) names, or undefined when it would leave `root`. */
export function fileUnder(root: string, relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
  const base = resolve(root);
  const file = resolve(base, decoded);
  return file.startsWith(base + sep) ? file : undefined;
}

/** `index.html` with the `<base href>` of where the console is mounted (`basePath` + `/ui/`). */
export function indexHtml(source: string, basePath: string): string {
  const href = `${basePath}${CONSOLE_PATH}`.replace(/[^A-Za-z0-9/_.~-]/g, encodeURIComponent);
  return source.replace('<head>', `<head>\n    <base href="${href}" />`);
}

/** Registers the console's routes on `app` when the console is built (`dir`); returns whether it did. */
export function registerConsole(
  app: FastifyInstance,
  options: { dir: string | undefined; basePath?: string | undefined; oidc?: ConsoleOidc | undefined },
): boolean {
  const { dir, oidc } = options;
  if (dir === undefined) return false;
  const csp = consoleCsp(oidc?.issuer);
  const index = indexHtml(readFileSync(join(dir, 'index.html'), 'utf8'), options.basePath ?? '');
  const sendIndex = (reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .send(Buffer.from(index));
  const hide = { hide: true };
  // `buildApp`'s onSend hook puts a mount prefix before the Location.
  app.get('/ui', { schema: hide }, (_request, reply) => reply.redirect(CONSOLE_PATH, 308));
  app.get('/ui/', { schema: hide }, (_request, reply) => sendIndex(reply));
  const config = JSON.stringify({
    oidc: oidc === undefined ? null : { issuer: oidc.issuer, client_id: oidc.clientId, audience: oidc.audience, scopes: oidc.scopes },
  });
  app.get('/ui/config.json', { schema: hide }, (_request, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(config),
  );
  app.get<{ Params: { '*': string } }>('/ui/*', { schema: hide }, async (request, reply) => {
    const rest = request.params['*'];
    const file = fileUnder(dir, rest);
    if (file === undefined) return sendProblem(reply, new AgentryError('not_found', `no console file ${CONSOLE_PATH}${rest}`));
    // A path with an extension names a file: missing, it is 404 (never index.html, which a
    // script tag would then run as JavaScript). Anything else is a page of the app.
    if (extname(rest) === '') return sendIndex(reply);
    if (file === join(dir, 'index.html')) return sendIndex(reply);
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return sendProblem(reply, new AgentryError('not_found', `no console file ${CONSOLE_PATH}${rest}`));
    }
    return reply
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', rest.startsWith('assets/') ? IMMUTABLE : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });
  return true;
}
