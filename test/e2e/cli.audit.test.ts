/**
 * `agentry audit list|verify` on the project's store: an action taken with the CLI is listed
 * (table, --json, --jsonl), the chain verifies, and an entry edited in the database makes
 * `verify` exit 1 naming it.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { dbFile, exampleProject, killAll, removeDir, runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';
import { MIGRATIONS } from '../../src/store/migrations.js';

/** A fresh store's first entries: one `store.migrate` per migration (those before the audit log's own recorded with it). */
const MIGRATED = MIGRATIONS.length;

const NIGHTLY = `name: nightly
schedule: { cron: "0 2 * * *" }
steps:
  report: { transform: { ok: true } }
`;

let project: string;

beforeAll(() => {
  project = exampleProject({ 'workflows/nightly.yaml': NIGHTLY });
});
afterAll(() => {
  removeDir(project);
});

describe('agentry audit (local)', { timeout: 120_000 }, () => {
  it('lists what the CLI did, verifies the chain, and names an edited entry', async () => {
    const empty = await runCliInProcess(['audit', 'list', '--json', '--dir', project]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual({ items: [], next_cursor: null });

    const env = { USER: 'alice' };
    const paused = await runCliInProcess(['schedules', 'pause', 'nightly', '--dir', project], { env });
    expect(paused.code, paused.stderr).toBe(0);

    const lines = await runCliInProcess(['audit', 'list', '--jsonl', '--all', '--limit', '1', '--dir', project]);
    expect(lines.code, lines.stderr).toBe(0);
    const entries = lines.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; action: string; principal: string; target: string });
    const pause = MIGRATED + 1;
    expect(entries.map((e) => [e.seq, e.action])).toEqual([
      [pause, 'schedule.pause'],
      ...Array.from({ length: MIGRATED }, (_, i) => [MIGRATED - i, 'store.migrate']),
    ]);
    expect(entries[0]).toMatchObject({ principal: 'alice', target: 'schedule:nightly' });

    const text = await runCliInProcess(['audit', 'list', '--action', 'schedule.pause', '--dir', project]);
    expect(text.stdout).toMatch(/SEQ\s+TIME\s+TENANT\s+PRINCIPAL\s+ACTION/);
    expect(text.stdout).toMatch(/alice\s+schedule\.pause\s+schedule:nightly\s+success/);

    const ok = await runCliInProcess(['audit', 'verify', '--json', '--dir', project]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, checked: pause, head_seq: pause, broken: null });

    const db = new Database(dbFile(project));
    try {
      db.prepare(`UPDATE audit_log SET principal = 'mallory' WHERE seq = ?`).run(pause);
    } finally {
      db.close();
    }
    const broken = await runCliInProcess(['audit', 'verify', '--dir', project]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit_chain_broken');
    expect(broken.stderr).toMatch(new RegExp(`audit entry ${pause} .*edited`));
  });

  it('prunes by AGENTRY_AUDIT_RETENTION and still verifies from the anchor', async () => {
    const dir = exampleProject({ 'workflows/nightly.yaml': NIGHTLY });
    try {
      expect((await runCliInProcess(['schedules', 'pause', 'nightly', '--dir', dir])).code).toBe(0);
      const none = await runCliInProcess(['audit', 'prune', '--dir', dir]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('AGENTRY_AUDIT_RETENTION');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const pruned = await runCliInProcess(['audit', 'prune', '--json', '--dir', dir], { env: { AGENTRY_AUDIT_RETENTION: '1ms' } });
      expect(pruned.code, pruned.stderr).toBe(0);
      expect(JSON.parse(pruned.stdout)).toEqual({ pruned: MIGRATED + 1, retention_ms: 1 });
      const ok = await runCliInProcess(['audit', 'verify', '--json', '--dir', dir]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, checked: 1, head_seq: MIGRATED + 2, pruned_through_seq: MIGRATED + 1 });
    } finally {
      removeDir(dir);
    }
  });
});

describe('agentry audit list (AGENTRY_URL)', { timeout: 120_000 }, () => {
  let api: TestApi;
  let url: string;

  beforeAll(async () => {
    api = await startTestApi({ start: false, workflows: [{ name: 'yearly', schedule: { cron: '0 0 1 1 *' }, steps: { a: { transform: 1 } } }] });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await killAll();
    await api.close();
  });

  it('prints what GET /v1/audit returns, and needs audit:read', async () => {
    const paused = await api.app.inject({ method: 'POST', url: '/v1/schedules/yearly/pause', headers: api.auth('operator'), payload: {} });
    expect(paused.statusCode).toBe(200);
    const [listed, refused] = await Promise.all([
      runCli(['audit', 'list', '--json', '--action', 'schedule.pause'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.admin } }),
      runCli(['audit', 'list'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.operator } }),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const fromApi = await api.app.inject({ url: '/v1/audit?action=schedule.pause', headers: api.auth('admin') });
    expect(JSON.parse(listed.stdout)).toEqual(fromApi.json());
    expect(JSON.parse(listed.stdout).items).toEqual([expect.objectContaining({ principal: 'operator', target: 'schedule:yearly' })]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('audit:read');
  });
});
