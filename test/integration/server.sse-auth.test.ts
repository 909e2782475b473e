/**
 * An open event stream checks its credential again while it runs, on SQLite and PostgreSQL,
 * over real HTTP: a managed key revoked while its run stream is open ends that stream with an
 * `error` frame (`unauthorized`) within the recheck period, while another key's stream on the
 * same server goes on and still delivers changes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, createKey } from '../helpers/keys.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

/** An open `GET /v1/runs/stream`: the text read so far, and whether the server ended it. */
async function openStream(base: string, key: string) {
  const abort = new AbortController();
  const response = await fetch(`${base}/v1/runs/stream`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', connection: 'close' },
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  const state = { text: '', ended: false };
  const reading = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      state.text += value;
    }
    state.ended = true;
  })().catch(() => undefined);
  return {
    state,
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

describe.each(storeFactories)('event streams and revoked keys on $name', (factory) => {
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    api = await startTestApi({ factory, start: false, app: { sseAuthRecheckMs: 100 } });
    base = await listen(api.app);
    // fetch's first use opens the connection pool it keeps for the file (the leak guard counts sockets per test).
    await (await fetch(`${base}/v1/runs/stream`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).json();
  });
  afterAll(async () => {
    await api.close();
  });
  // fetch keeps its connections to the server alive between calls; the leak guard counts sockets per test.
  afterEach(() => api.app.server.closeIdleConnections());

  it("ends a revoked key's open stream with an unauthorized error frame; another key's stream goes on", async () => {
    const { secret } = await createKey(base, KEYS.admin, { name: 'watcher', roles: ['service'] });
    const revoked = await openStream(base, secret);
    const kept = await openStream(base, KEYS.admin);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few rechecks pass while the key is valid
      expect(revoked.state.ended).toBe(false);

      expect((await call(base, '/v1/admin/keys/watcher/revoke', KEYS.admin, { body: {} })).status).toBe(200);
      await expect.poll(() => revoked.state.ended, { timeout: 20_000, interval: 50 }).toBe(true);
      const frame = revoked.state.text.split('\n\n').find((f) => f.startsWith('event: error'));
      expect(frame).toBeDefined();
      expect(
        JSON.parse(
          frame!
            .split('\n')
            .find((line) => line.startsWith('data: '))!
            .slice(6),
        ),
      ).toMatchObject({ code: 'unauthorized', status: 401 });

      // The other stream is open and still hears of new runs.
      const started = await call<{ id: string }>(base, '/v1/workflows/hello/runs', KEYS.admin, { body: { input: { name: 'Ada' } } });
      expect(started.status).toBe(201);
      await expect.poll(() => kept.state.text.includes(started.body.id), { timeout: 20_000, interval: 50 }).toBe(true);
      expect(kept.state.ended).toBe(false);
    } finally {
      await revoked.close();
      await kept.close();
    }
  });
});
