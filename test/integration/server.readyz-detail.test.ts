/**
 * `/readyz` stays open, but its checks (hosts, workflow names, failures) are shown only to
 * trusted client addresses and admin/operator keys under `AGENTRY_READYZ_DETAIL=internal` (the
 * default); everyone else gets the status alone, with the same status code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';

/** A client that is not on loopback (inject lets a test choose the peer address). */
const PUBLIC = '203.0.113.7';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ start: false });
});
afterAll(async () => {
  await api.close();
});

const readyz = (remoteAddress: string, headers: Record<string, string> = {}) => api.app.inject({ url: '/readyz', remoteAddress, headers });

describe('/readyz detail (internal, the default)', () => {
  it('a public client without a key gets only the status, with the same status code', async () => {
    const full = await readyz('127.0.0.1');
    const res = await readyz(PUBLIC);
    expect(res.statusCode).toBe(full.statusCode);
    const status = full.json<{ status: string }>().status;
    expect(res.json()).toEqual({ status });
    expect(res.body).not.toContain('checks');
  });

  it('a loopback client, and an admin or operator key from anywhere, get the checks', async () => {
    expect((await readyz('127.0.0.1')).json()).toHaveProperty('checks.database.status', 'ok');
    expect((await readyz('::1')).json()).toHaveProperty('checks.database');
    expect((await readyz(PUBLIC, { authorization: `Bearer ${KEYS.admin}` })).json()).toHaveProperty('checks.database');
    expect((await readyz(PUBLIC, { 'x-api-key': KEYS.operator })).json()).toHaveProperty('checks.database');
  });

  it('other keys and wrong keys from a public address get the status alone (and no 401: the route stays open)', async () => {
    for (const key of [KEYS.viewer, KEYS.service, 'wrong-key-0123456789abcdef']) {
      const res = await readyz(PUBLIC, { authorization: `Bearer ${key}` });
      expect(res.statusCode).not.toBe(401);
      expect(res.json()).not.toHaveProperty('checks');
    }
  });

  it('over real HTTP, a peer outside AGENTRY_READYZ_TRUSTED gets the status alone', async () => {
    const other = await startTestApi({ start: false, app: { readyz: { detail: 'internal', trusted: ['10.0.0.0/8'] } } });
    try {
      const res = await fetch(`${await listen(other.app)}/readyz`, { headers: { connection: 'close' } });
      expect(Object.keys((await res.json()) as object)).toEqual(['status']);
    } finally {
      await other.close();
    }
  });
});

describe('/readyz detail full', () => {
  it('shows the checks to everyone', async () => {
    const open = await startTestApi({ start: false, app: { readyz: { detail: 'full', trusted: [] } } });
    try {
      const res = await open.app.inject({ url: '/readyz', remoteAddress: PUBLIC });
      expect(res.json()).toHaveProperty('checks.database');
    } finally {
      await open.close();
    }
  });
});
