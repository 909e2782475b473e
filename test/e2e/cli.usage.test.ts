/**
 * `agentry usage calls`: on the project's store (table, --json, filters, pages) and, with
 * AGENTRY_URL, what `GET /v1/usage/calls` returns — against a server on each store.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { CallRecord } from '../../src/types.js';
import { dbFile, exampleProject, killAll, removeDir, runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';

const T0 = Date.parse('2026-04-02T08:00:00Z');

function call(id: string, fields: Partial<CallRecord> = {}): CallRecord {
  return {
    id,
    tenantId: 'default',
    runId: 'run_cli',
    stepId: 'draft',
    workflow: 'triage',
    group: 'smart',
    provider: 'up',
    model: 'up-1',
    inputTokens: 120,
    outputTokens: 30,
    costUsd: 0.0042,
    latencyMs: 830,
    outcome: 'ok',
    at: T0,
    ...fields,
  };
}

const RECORDS = [
  call('call_a', { at: T0 }),
  call('call_b', { at: T0 + 1000, outcome: 'error', errorCode: 'timeout', inputTokens: 0, outputTokens: 0, costUsd: 0 }),
  call('call_c', { at: T0 + 2000, cacheHit: true, costUsd: 0 }),
];

describe('agentry usage calls (local)', { timeout: 120_000 }, () => {
  let project: string;
  beforeAll(async () => {
    project = exampleProject();
    const empty = await runCliInProcess(['usage', 'calls', '--json', '--dir', project]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual({ items: [], next_cursor: null });
    // Creates and migrates the store as the CLI would, then writes the ledger's records.
    expect((await runCliInProcess(['migrate', 'up', '--dir', project])).code).toBe(0);
    const store = openSqliteStore(dbFile(project));
    try {
      for (const r of RECORDS) await store.recordCall(r);
    } finally {
      await store.close();
    }
  });
  afterAll(() => removeDir(project));

  it('prints the calls newest first as a table and as JSON, filtered and paged', async () => {
    const text = await runCliInProcess(['usage', 'calls', '--dir', project]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/TIME\s+TENANT\s+RUN\s+STEP\s+GROUP\s+MODEL\s+STATUS\s+LATENCY\s+IN\s+OUT\s+CACHED\s+COST/);
    expect(text.stdout).toMatch(/run_cli\s+draft\s+smart\s+up\/up-1\s+timeout\s+830ms/);
    expect(text.stdout).toContain('ok (cache)');

    const errors = await runCliInProcess(['usage', 'calls', '--status', 'error', '--json', '--dir', project]);
    expect(errors.code, errors.stderr).toBe(0);
    expect(JSON.parse(errors.stdout)).toMatchObject({ items: [{ id: 'call_b', status: 'error', error_code: 'timeout', latency_ms: 830 }], next_cursor: null });

    const first = JSON.parse((await runCliInProcess(['usage', 'calls', '--limit', '2', '--json', '--dir', project])).stdout) as {
      items: Array<{ id: string }>;
      next_cursor: string;
    };
    expect(first.items.map((i) => i.id)).toEqual(['call_c', 'call_b']);
    const second = JSON.parse(
      (await runCliInProcess(['usage', 'calls', '--limit', '2', '--cursor', first.next_cursor, '--json', '--dir', project])).stdout,
    ) as {
      items: Array<{ id: string }>;
    };
    expect(second.items.map((i) => i.id)).toEqual(['call_a']);
    const all = JSON.parse((await runCliInProcess(['usage', 'calls', '--limit', '1', '--all', '--json', '--dir', project])).stdout) as {
      items: Array<{ id: string }>;
    };
    expect(all.items.map((i) => i.id)).toEqual(['call_c', 'call_b', 'call_a']);

    const bad = await runCliInProcess(['usage', 'calls', '--status', 'fine', '--dir', project]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('budget_exceeded');
  });
});

describe.each(storeFactories)('agentry usage calls (AGENTRY_URL, $name)', { timeout: 120_000 }, (factory) => {
  let api: TestApi;
  let url: string;
  beforeAll(async () => {
    api = await startTestApi({ factory, start: false });
    for (const r of RECORDS) await api.store.recordCall(r);
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await killAll();
    await api.close();
  });

  it('prints what GET /v1/usage/calls returns, and needs usage:read', async () => {
    const [listed, refused] = await Promise.all([
      runCli(['usage', 'calls', '--json', '--run', 'run_cli', '--group', 'smart'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer } }),
      runCli(['usage', 'calls'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: 'wrong-key-0123456789abcdef' } }),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const fromApi = await api.app.inject({ url: '/v1/usage/calls?run_id=run_cli&model_group=smart', headers: api.auth('viewer') });
    expect(JSON.parse(listed.stdout)).toEqual(fromApi.json());
    expect((JSON.parse(listed.stdout) as { items: unknown[] }).items).toHaveLength(3);
    expect(refused.code).not.toBe(0);
  });
});
