/**
 * Callers in named tenants for tests: a loopback OIDC issuer (discovery document and JWKS of
 * one key this helper generates) and the auth settings that trust it, with the tenant taken
 * from the `org` claim and the built-in role from `groups` (`agentry-<role>`). Bootstrap API
 * keys (`API_KEYS`, tenant `default`) keep working beside the tokens.
 *
 *   const issuer = await startTenantIssuer();
 *   const api = await startTestApi({ app: { auth: issuer.auth } });
 *   const headers = { authorization: `Bearer ${await issuer.token('acme', 'ada', 'service')}` };
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authSettings, type AuthSettings } from '../../src/server/auth.js';
import { ROLES, type Role } from '../../src/server/scopes.js';
import { API_KEYS } from './server.js';

export interface TenantIssuer {
  auth: AuthSettings;
  /** A token of `sub` in `tenant` holding `role` (principal name `oidc:<sub>`), valid for 5 minutes. */
  token(tenant: string, sub: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

const AUDIENCE = 'agentry-limits-test';

export async function startTenantIssuer(): Promise<TenantIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let url = '';
  const server = createServer((req, res) => {
    // `connection: close`: no keep-alive socket outlives a test (the leak guard counts them).
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') send(200, { issuer: url, jwks_uri: `${url}/keys` });
    else if (req.url === '/keys') send(200, { keys: [jwk] });
    else send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = authSettings({
    enabled: true,
    host: '127.0.0.1',
    apiKeys: API_KEYS,
    oidc: {
      issuer: url,
      audience: AUDIENCE,
      jwksUrl: undefined,
      tenantClaim: 'org',
      rolesClaim: 'groups',
      roleMap: ROLES.map((role) => `agentry-${role}=${role}`).join(','),
      nameClaim: undefined,
      cooldownMs: 0,
    },
  });
  return {
    auth,
    token: (tenant, sub, role) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: url, aud: AUDIENCE, sub, iat: now, exp: now + 300, org: tenant, groups: [`agentry-${role}`] })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .sign(privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
