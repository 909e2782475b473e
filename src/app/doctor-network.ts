/**
 * The doctor's checks over HTTP, against the API's base URL (`--url`, else `AGENTRY_URL`):
 * `/livez` and `/readyz` answer 200 through it (`probes`), and what a client sees of TLS and
 * the proxy in front (`tls`): a certificate that verifies and is not about to expire, no plain
 * HTTP beyond loopback, and `X-Request-ID` coming back unchanged. Every call is bounded by a
 * short timeout, so a dead host makes a fail, never a hang.
 */
import { randomBytes } from 'node:crypto';
import { connect, type PeerCertificate } from 'node:tls';
import { isLoopback } from '../lib/address-list.js';
import { formatAge, formatDuration } from '../lib/duration.js';
import { maskSecrets } from '../lib/redact.js';
import { Unavailable, type CheckDefinition, type DoctorContext, type Outcome } from './doctor-context.js';

/** Longest one HTTP request or TLS handshake may take. */
const NET_TIMEOUT_MS = 3_000;
/** A certificate that expires within this long is a warning. */
export const CERT_WARN_MS = 14 * 86_400_000;

function baseUrl(ctx: DoctorContext): URL {
  const url = ctx.url;
  if (url === undefined) throw new Unavailable('pass --url <api base> (or set AGENTRY_URL) to check the API from outside');
  try {
    return new URL(url);
  } catch {
    throw new Error(`--url ${maskSecrets(url)} is not a URL`);
  }
}

/** Why a request failed, in a few words (the socket error's code when there is one). */
function reason(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}

async function get(
  ctx: DoctorContext,
  base: URL,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const key = ctx.loaded?.client.apiKey;
  try {
    const res = await fetch(new URL(path, base), {
      signal: AbortSignal.timeout(NET_TIMEOUT_MS),
      headers: { connection: 'close', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  } catch (error) {
    throw new Error(`GET ${maskSecrets(new URL(path, base).href)} failed: ${reason(error)}`, { cause: error });
  }
}

/** The failing checks `/readyz` names, when it shows them. */
function failingChecks(text: string): string {
  try {
    const body = JSON.parse(text) as { checks?: Record<string, { status?: string; detail?: string }>; detail?: string };
    const failing = Object.entries(body.checks ?? {})
      .filter(([, c]) => c.status === 'fail')
      .map(([name, c]) => `${name}: ${c.detail ?? 'failed'}`);
    if (failing.length > 0) return failing.join('; ');
    return body.detail ?? 'no detail (it is shown to trusted addresses and admin or operator keys)';
  } catch {
    return 'not JSON';
  }
}

async function probesCheck(ctx: DoctorContext): Promise<Outcome> {
  const base = baseUrl(ctx);
  const shown = maskSecrets(base.origin);
  const livez = await get(ctx, base, 'livez');
  if (livez.status !== 200) return { status: 'fail', detail: `GET ${shown}/livez answered ${livez.status}, not 200 (is it an Agentry server?)` };
  const readyz = await get(ctx, base, 'readyz');
  if (readyz.status !== 200) return { status: 'fail', detail: `GET ${shown}/readyz answered ${readyz.status}: ${failingChecks(readyz.text)}` };
  return { status: 'ok', detail: `GET ${shown}/livez and /readyz answer 200` };
}

/** The certificate's remaining life, judged. */
export function judgeCertificate(subject: string, validTo: number, now: number): Outcome {
  const left = validTo - now;
  const when = new Date(validTo).toISOString();
  if (left <= 0) return { status: 'fail', detail: `the certificate of ${subject} expired ${formatAge(-left)} ago (${when})` };
  if (left <= CERT_WARN_MS) {
    return {
      status: 'warn',
      detail: `the certificate of ${subject} expires in ${formatAge(left)} (${when}), within ${formatDuration(CERT_WARN_MS)}`,
      hint: 'renew it now',
    };
  }
  return { status: 'ok', detail: `the certificate of ${subject} verifies and is valid for ${formatAge(left)} more` };
}

/** The server's certificate after a verified handshake; rejects with the verification error (expired, self-signed, wrong host). */
function peerCertificate(url: URL): Promise<PeerCertificate> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, timeout: NET_TIMEOUT_MS });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(cert);
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${NET_TIMEOUT_MS / 1000}s`)));
    socket.once('error', reject);
  });
}

async function tlsPart(ctx: DoctorContext, base: URL): Promise<Outcome> {
  if (base.protocol === 'http:') {
    if (isLoopback(base.hostname.replace(/^\[|\]$/g, ''))) return { status: 'ok', detail: `plain HTTP on loopback (${base.host})` };
    return {
      status: 'fail',
      detail: `plain HTTP to ${base.host}: keys and run data cross the network in clear`,
      hint: 'terminate TLS at a reverse proxy in front of Agentry (or AGENTRY_TLS_CERT/AGENTRY_TLS_KEY) and use its https:// URL',
    };
  }
  let cert: PeerCertificate;
  try {
    cert = await peerCertificate(base);
  } catch (error) {
    return {
      status: 'fail',
      detail: `TLS to ${base.host} does not verify: ${reason(error)}`,
      hint: 'serve a certificate from a CA clients trust, for this host name',
    };
  }
  return judgeCertificate(base.host, Date.parse(cert.valid_to), ctx.now());
}

/** `X-Request-ID` sent comes back as sent: the proxy forwards it and the server echoes it. */
async function requestIdPart(ctx: DoctorContext, base: URL): Promise<Outcome> {
  const id = `doctor-${randomBytes(6).toString('hex')}`;
  const res = await get(ctx, base, 'livez', { 'x-request-id': id });
  const back = res.headers.get('x-request-id');
  if (back === id) return { status: 'ok', detail: 'X-Request-ID round-trips' };
  return {
    status: 'warn',
    detail: back === null ? 'X-Request-ID does not come back (the proxy drops it)' : `X-Request-ID comes back changed ('${back}'): the proxy replaces it`,
    hint: 'forward X-Request-ID in the proxy (nginx: proxy_set_header X-Request-ID $request_id) so one id follows a request through both logs',
  };
}

async function tlsCheck(ctx: DoctorContext): Promise<Outcome> {
  const base = baseUrl(ctx);
  const header = await requestIdPart(ctx, base).catch((error: unknown): Outcome => ({
    status: 'fail',
    detail: `X-Request-ID not checked: ${(error as Error).message}`,
  }));
  const parts = [await tlsPart(ctx, base), header];
  const status = parts.some((p) => p.status === 'fail') ? 'fail' : parts.some((p) => p.status === 'warn') ? 'warn' : 'ok';
  const hint = parts.find((p) => p.status === status)?.hint;
  return { status, detail: parts.map((p) => p.detail).join('; '), ...(hint === undefined ? {} : { hint }) };
}

export const NETWORK_CHECKS: readonly CheckDefinition[] = [
  {
    id: 'probes',
    title: 'Probes reachable',
    docs: 'docs/operations/probes.md#when-a-check-fails',
    hint: 'check the server runs and its /readyz checks (the server logs name the failing ones)',
    run: probesCheck,
  },
  {
    id: 'tls',
    title: 'TLS and proxy headers',
    docs: 'docs/operations/tls-and-proxies.md#behind-a-reverse-proxy',
    hint: 'put a TLS reverse proxy in front that forwards X-Request-ID',
    run: tlsCheck,
  },
];
