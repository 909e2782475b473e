#!/usr/bin/env node
/**
 * The container image's HEALTHCHECK: exits 0 when the Agentry process in this container answers
 * `GET /livez` with 200, 1 otherwise (docs/operations/container.md#health-check).
 *
 * One image runs every role, and each answers its probes on another port, so by default it asks
 * both ports a role may serve them on, over loopback, and is healthy when either answers:
 *
 * - the API port, `AGENTRY_PORT` or 7700 (`serve`, `start api`);
 * - the probe port, `AGENTRY_PROBE_PORT` or 7702 (`start worker|scheduler|gateway`; none when `off`).
 *
 * `AGENTRY_HEALTHCHECK_URL` replaces both with one URL (a port given only as a flag, a bind
 * address that is not loopback or a wildcard, a probe port of 0). With native TLS
 * (`AGENTRY_TLS_CERT`) the defaults are `https://`, and the certificate is not verified: this
 * is a liveness check of the process next to it, not a check of who it is.
 * Plain `node:http`: a slim image has no curl, and fetch cannot skip certificate checks.
 */
import http from 'node:http';
import https from 'node:https';

const TIMEOUT_MS = 3000;
const env = process.env;

/** The address of this container's own listener: loopback when it binds a wildcard. */
function loopbackHost() {
  const host = (env.AGENTRY_HOST ?? '').trim();
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function defaultUrls() {
  const scheme = (env.AGENTRY_TLS_CERT ?? '').trim() === '' ? 'http' : 'https';
  const host = loopbackHost();
  const ports = [(env.AGENTRY_PORT ?? '').trim() || '7700'];
  const probe = (env.AGENTRY_PROBE_PORT ?? '').trim().toLowerCase() || '7702';
  if (probe !== 'off' && probe !== '0') ports.push(probe);
  return ports.map((port) => `${scheme}://${host}:${port}/livez`);
}

/** Resolves with the status code of GET `url`, or with the reason it got none. */
function probe(url) {
  return new Promise((resolve) => {
    const client = url.startsWith('https:') ? https : http;
    const request = client.get(url, { timeout: TIMEOUT_MS, rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.on('error', (error) => resolve(error.message || String(error)));
  });
}

const configured = (env.AGENTRY_HEALTHCHECK_URL ?? '').trim();
const urls = configured === '' ? defaultUrls() : [configured];
const results = await Promise.all(urls.map(async (url) => ({ url, result: await probe(url) })));
const healthy = results.find(({ result }) => result === 200);
if (healthy) {
  process.stdout.write(`healthy: ${healthy.url} answered 200\n`);
} else {
  process.stdout.write(`unhealthy: ${results.map(({ url, result }) => `${url} ${typeof result === 'number' ? `answered ${result}` : result}`).join('; ')}\n`);
  process.exitCode = 1;
}
