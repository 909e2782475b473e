/**
 * `agentry schedules list|pause|resume` as a real child process: locally on the project's
 * store (synced from the project first), and with AGENTRY_URL against a server.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbFile, exampleProject, killAll, removeDir, runCli, runCliInProcess, tempDir } from '../helpers/cli.js';
import { KEYS, startTestApi, type TestApi } from '../helpers/server.js';

const NIGHTLY = `name: nightly
schedule: { cron: "0 2 * * *", timezone: Europe/Berlin, catch_up: one }
steps:
  report: { transform: { ok: true } }
`;

interface Item {
  workflow: string;
  paused: boolean;
  next_at: string | null;
  cron: string;
  timezone: string;
  catch_up: string;
}

let project: string;

beforeAll(() => {
  project = exampleProject({ 'workflows/nightly.yaml': NIGHTLY });
});
afterAll(async () => {
  await killAll();
  removeDir(project);
});

/** The `schedules` rows of the project's store, read without writing to it. */
function storedRows(): { workflow: string; paused: number }[] {
  const db = new Database(dbFile(project), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT workflow, paused FROM schedules ORDER BY workflow').all() as { workflow: string; paused: number }[];
  } finally {
    db.close();
  }
}

// Local commands run in this process, in parallel where the order does not matter.
describe('agentry schedules (local)', { timeout: 120_000 }, () => {
  it('lists the project schedules before any scheduler ran, pauses and resumes them, and rejects bad input', async () => {
    const [listed, text, missing] = await Promise.all([
      runCliInProcess(['schedules', 'list', '--json', '--dir', project]),
      runCliInProcess(['schedules', 'list', '--dir', project]),
      runCliInProcess(['schedules', 'resume', '--dir', project]),
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const { items } = JSON.parse(listed.stdout) as { items: Item[] };
    expect(items).toEqual([expect.objectContaining({ workflow: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Berlin', catch_up: 'one', paused: false })]);
    expect(Date.parse(items[0]!.next_at!)).toBeGreaterThan(Date.now() - 120_000);
    expect(text.stdout).toMatch(/WORKFLOW\s+TENANT\s+CRON\s+TIMEZONE\s+STATE/);
    expect(text.stdout).toMatch(/nightly\s+default\s+0 2 \* \* \*\s+Europe\/Berlin\s+active/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'workflow'");
    // --tenant narrows the view to one tenant's schedules (the project's are the deployment tenant's, `default`).
    const [own, other, reserved] = await Promise.all([
      runCliInProcess(['schedules', 'list', '--json', '--tenant', 'default', '--dir', project]),
      runCliInProcess(['schedules', 'list', '--json', '--tenant', 'acme', '--dir', project]),
      runCliInProcess(['schedules', 'list', '--tenant', 'system', '--dir', project]),
    ]);
    expect((JSON.parse(own.stdout) as { items: Item[] }).items.map((i) => i.workflow)).toEqual(['nightly']);
    expect(JSON.parse(other.stdout)).toEqual({ items: [] });
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain("'system' is reserved");
    // Listing does not create the store.
    expect(existsSync(dbFile(project))).toBe(false);

    const paused = await runCliInProcess(['schedules', 'pause', 'nightly', '--dir', project]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('Paused nightly (0 2 * * * Europe/Berlin): paused');
    expect(storedRows()).toEqual([{ workflow: 'nightly', paused: 1 }]);

    const [resumed, unknown] = await Promise.all([
      runCliInProcess(['schedules', 'resume', 'nightly', '--json', '--dir', project]),
      runCliInProcess(['schedules', 'pause', 'hello', '--dir', project]),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ workflow: 'nightly', paused: false, next_at: expect.stringMatching(/T0[01]:00:00\.000Z$/) });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error [not_found]: no schedule for workflow 'hello' (scheduled workflows: nightly)");
    expect(storedRows()).toEqual([{ workflow: 'nightly', paused: 0 }]);
  });
});

describe('agentry schedules (AGENTRY_URL)', { timeout: 120_000 }, () => {
  let api: TestApi;
  let url: string;
  let cwd: string;

  beforeAll(async () => {
    api = await startTestApi({ start: false, workflows: [{ name: 'ticker', schedule: { cron: '*/5 * * * *' }, steps: { a: { transform: 1 } } }] });
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    cwd = tempDir();
  });
  afterAll(async () => {
    await api.close();
    removeDir(cwd);
  });

  const remote = (args: string[]) => runCli(args, { cwd, env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.operator } });

  it('prints what the API returns, and pauses and resumes on the server', async () => {
    const [listed, unknown] = await Promise.all([remote(['schedules', 'list', '--json']), remote(['schedules', 'pause', 'nope'])]);
    expect(listed.code, listed.stderr).toBe(0);
    const fromApi = await api.app.inject({ url: '/v1/schedules', headers: api.auth('operator') });
    expect(JSON.parse(listed.stdout)).toEqual(fromApi.json());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error [not_found]');

    const paused = await remote(['schedules', 'pause', 'ticker']);
    expect(paused.code, paused.stderr).toBe(0);
    expect((await api.store.getSchedule('ticker'))?.paused).toBe(true);
    const resumed = await remote(['schedules', 'resume', 'ticker']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await api.store.getSchedule('ticker'))?.paused).toBe(false);
  });
});
