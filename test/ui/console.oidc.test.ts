/**
 * The web console's OIDC sign-in (authorization code + PKCE), in headless Chromium against a
 * real `agentry serve` on loopback and a fake identity provider on another loopback port: its
 * discovery document, an authorize endpoint that sends the browser straight back with a code,
 * a token endpoint that checks the PKCE verifier and returns JWTs signed by a key in its JWKS.
 * The API accepts the token (a run list appears), a wrong `state` is refused, and a token the
 * API refuses (401) sends the person back to sign-in with a message.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleProject, killAll, removeDir, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { launchBrowser } from '../helpers/browser.js';

declare const sessionStorage: Record<string, string> & { setItem(key: string, value: string): void };

const CLIENT_ID = 'agentry-console';
const AUDIENCE = 'agentry-api';

interface Grant {
  challenge: string;
  method: string;
  nonce: string;
  clientId: string;
  redirectUri: string;
}

/** The fake identity provider; `wrongState` makes the authorize endpoint answer with another state. */
interface Provider {
  url: string;
  wrongState: boolean;
  /** How long the tokens it issues are valid (a jose duration: `10m`, `4s`). */
  tokenLifetime: string;
  /** Token requests and what became of them (`ok` or why refused). */
  exchanges: string[];
  /** Every authorize request's query. */
  authorizations: URLSearchParams[];
  close: () => Promise<void>;
}

async function startProvider(): Promise<Provider> {
  const kid = 'k1';
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const sign = (claims: Record<string, unknown>, key: CryptoKey = privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).setIssuedAt().setExpirationTime(provider.tokenLifetime).sign(key);
  const grants = new Map<string, Grant>();
  const provider: Provider = { url: '', wrongState: false, tokenLifetime: '10m', exchanges: [], authorizations: [], close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', provider.url);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      send(200, {
        issuer: provider.url,
        authorization_endpoint: `${provider.url}/authorize`,
        token_endpoint: `${provider.url}/token`,
        jwks_uri: `${provider.url}/keys`,
      });
    } else if (url.pathname === '/keys') {
      send(200, { keys: [publicJwk] });
    } else if (url.pathname === '/authorize') {
      const q = url.searchParams;
      provider.authorizations.push(q);
      const code = randomBytes(16).toString('hex');
      grants.set(code, {
        challenge: q.get('code_challenge') ?? '',
        method: q.get('code_challenge_method') ?? '',
        nonce: q.get('nonce') ?? '',
        clientId: q.get('client_id') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
      });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', provider.wrongState ? 'not-the-state' : (q.get('state') ?? ''));
      res.writeHead(302, { location: back.href, connection: 'close' });
      res.end();
    } else if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        void (async () => {
          const form = new URLSearchParams(body);
          const grant = grants.get(form.get('code') ?? '');
          grants.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const challenge = createHash('sha256').update(verifier).digest('base64url');
          const refuse = (why: string) => {
            provider.exchanges.push(why);
            send(400, { error: 'invalid_grant', error_description: why });
          };
          if (grant === undefined) return refuse('unknown code');
          if (form.get('grant_type') !== 'authorization_code') return refuse('grant_type');
          if (grant.method !== 'S256' || challenge !== grant.challenge) return refuse('PKCE verifier does not match');
          if (form.get('client_id') !== grant.clientId || form.get('redirect_uri') !== grant.redirectUri) return refuse('client or redirect differs');
          provider.exchanges.push('ok');
          const claims = { iss: provider.url, sub: 'alice', groups: ['agentry-ops'] };
          send(200, {
            token_type: 'Bearer',
            expires_in: provider.tokenLifetime === '10m' ? 600 : 4,
            access_token: await sign({ ...claims, aud: AUDIENCE }),
            id_token: await sign({ ...claims, aud: grant.clientId, nonce: grant.nonce }),
          });
        })();
      });
    } else send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return provider;
}

let project: string;
let dataDir: string;
let server: CliProcess;
let base: string;
let idp: Provider;
let browser: Browser;
const cspErrors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  const p = await context.newPage();
  p.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  });
  return p;
}

beforeAll(async () => {
  idp = await startProvider();
  project = exampleProject({ 'workflows/tick.yaml': 'version: v1\nname: tick\nsteps:\n  only: { transform: { ok: true } }\n' });
  dataDir = tempDir();
  server = startCli(['serve', project, '--port', '0'], {
    env: {
      AGENTRY_API_KEYS: API_KEYS,
      AGENTRY_DATABASE_URL: `sqlite:${dataDir}/agentry.db`,
      AGENTRY_LOG_LEVEL: 'warn',
      AGENTRY_OIDC_ISSUER: idp.url,
      AGENTRY_OIDC_AUDIENCE: AUDIENCE,
      AGENTRY_OIDC_ROLE_MAP: 'agentry-ops=operator',
      AGENTRY_OIDC_CONSOLE_CLIENT_ID: CLIENT_ID,
      AGENTRY_OIDC_CONSOLE_SCOPES: 'openid groups',
    },
  });
  await waitForOutput(server, (_stderr, stdout) => stdout.includes('curl '));
  base = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.done;
  await idp?.close();
  await killAll();
  removeDir(project);
  removeDir(dataDir);
});

describe('the web console with OIDC', () => {
  it('serves its public OIDC settings and lets the issuer through its CSP', async () => {
    const config = await fetch(`${base}/ui/config.json`);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ oidc: { issuer: idp.url, client_id: CLIENT_ID, audience: AUDIENCE, scopes: 'openid groups' } });
    const index = await fetch(`${base}/ui/`);
    expect(index.headers.get('content-security-policy')).toContain(`connect-src 'self' ${idp.url}`);
  });

  it('signs in through the issuer with PKCE, and the API accepts the token', async () => {
    const run = (await (
      await fetch(`${base}/v1/workflows/tick/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: {} }),
      })
    ).json()) as { id: string };
    const page = await newPage();
    await page.goto(`${base}/ui/`);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: run.id }).waitFor();
    expect(await page.locator('.who').textContent()).toContain('oidc:alice');
    // The round trip: S256, a state and a nonce, the registered redirect URI; the code was exchanged.
    const asked = idp.authorizations.at(-1)!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('client_id')).toBe(CLIENT_ID);
    expect(asked.get('redirect_uri')).toBe(`${base}/ui/auth/callback`);
    expect(asked.get('scope')).toBe('openid groups');
    expect(asked.get('state')!.length).toBeGreaterThan(20);
    expect(asked.get('nonce')!.length).toBeGreaterThan(20);
    expect(idp.exchanges.at(-1)).toBe('ok');
    // The code left the address bar; the token is in session storage, not in the URL.
    expect(page.url()).toBe(`${base}/ui/`);
    const stored = (await page.evaluate(() => sessionStorage['agentry.console.key'])) ?? '';
    expect(stored.split('.')).toHaveLength(3);
    expect(page.url()).not.toContain(stored);
    expect(cspErrors).toEqual([]);

    // A token the API refuses (its signature broken) signs out, with a message.
    await page.evaluate(() => sessionStorage.setItem('agentry.console.key', `${sessionStorage['agentry.console.key']!.slice(0, -4)}AAAA`));
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('alert').getByText('Your session has ended').waitFor();
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
    expect(await page.evaluate(() => sessionStorage['agentry.console.key'])).toBeUndefined();
    await page.context().close();
  });

  it('returns to the sign-in page by itself when the token expires, without any action of the person', async () => {
    idp.tokenLifetime = '4s';
    const page = await newPage();
    try {
      await page.goto(`${base}/ui/`);
      await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      const token = (await page.evaluate(() => sessionStorage['agentry.console.key'])) ?? '';
      const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
      expect(exp * 1000 - Date.now()).toBeLessThan(5_000);
      // Nothing is clicked from here on: the console's own timer at `exp` signs out (a refused
      // request would say "Your session has ended" instead).
      await page.getByRole('alert').getByText('Your sign-in has expired').waitFor({ timeout: 20_000 });
      await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
      expect(await page.evaluate(() => sessionStorage['agentry.console.key'])).toBeUndefined();
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      idp.tokenLifetime = '10m';
      await page.context().close();
    }
  });

  it('refuses an answer whose state is not the one it sent, and exchanges no code', async () => {
    const page = await newPage();
    const before = idp.exchanges.length;
    idp.wrongState = true;
    try {
      await page.goto(`${base}/ui/`);
      await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
      await page.getByRole('alert').getByText('its state differs').waitFor();
    } finally {
      idp.wrongState = false;
    }
    expect(idp.exchanges.length).toBe(before);
    expect(page.url()).not.toContain('code=');
    expect(await page.evaluate(() => sessionStorage['agentry.console.key'])).toBeUndefined();
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
    await page.context().close();
  });
});
