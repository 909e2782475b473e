/**
 * Plugins across a fleet of real processes (PLG-05, PLG-16): two `agentry serve` child processes
 * on one PostgreSQL database and one project's lock report the same plugins; a disable through
 * one is in force on the other within 5 s (its routes 404) and after the other restarts; and the
 * remote plugin CLI (`agentry plugins list|disable|enable` with AGENTRY_URL) works against them,
 * with a clear error and a non-zero exit on bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pluginProject } from '../helpers/plugins.js';
import { killAll, removeDir, runCliInProcess, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const ADMIN = 'ops:fleet-plugins-key-0123456789abcdef0123:admin';
const VIEWER = 'watch:fleet-plugins-viewer-0123456789abcdef:viewer';
const ADMIN_KEY = ADMIN.split(':')[1]!;
const VIEWER_KEY = VIEWER.split(':')[1]!;
const SWITCH_WITHIN_MS = 5_000;

interface Server {
  proc: CliProcess;
  url: string;
}

describe.skipIf(!hasPostgres)('plugins on two serve processes on one PostgreSQL database', () => {
  let project: string;
  let db: { url: string; drop: () => Promise<void> };
  let env: Record<string, string>;
  let a: Server;
  let b: Server;

  async function serve(): Promise<Server> {
    const proc = startCli(['serve', project, '--port', '0'], { env });
    await waitForOutput(proc, (stderr, stdout) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(stdout + stderr));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stdout + proc.stderr)![1]!;
    return { proc, url };
  }
  const get = (server: Server, path: string, key = ADMIN_KEY): Promise<Response> =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}`, connection: 'close' } });
  const plugins = async (server: Server): Promise<unknown> => ((await (await get(server, '/v1/plugins')).json()) as { items: unknown }).items;
  /** Polls until `status` answers `path` on `server`; returns how long it took (fails past the deadline). */
  async function until(server: Server, path: string, status: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      if ((await get(server, path)).status === status) return Date.now() - started;
      if (Date.now() - started > SWITCH_WITHIN_MS) throw new Error(`${path} on ${server.url} did not answer ${status} within ${SWITCH_WITHIN_MS} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const remote = (server: Server, key: string, ...args: string[]) =>
    runCliInProcess(['plugins', ...args], { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: key }, concurrent: true });

  beforeAll(async () => {
    project = await pluginProject();
    db = await createTestDatabase('agentry_plugfleet_');
    env = { AGENTRY_DATABASE_URL: db.url, AGENTRY_API_KEYS: `${ADMIN};${VIEWER}` };
    [a, b] = await Promise.all([serve(), serve()]);
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await db?.drop();
    if (project !== undefined) removeDir(project);
  });

  it('a disable through one is in force on the other within 5 s and after it restarts; both list the same plugins', async () => {
    expect(await plugins(a)).toEqual(await plugins(b));
    expect((await get(b, '/v1/plugins/echo/echo')).status).toBe(200);

    const off = await fetch(`${a.url}/v1/plugins/echo/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ reason: 'fleet test' }),
    });
    expect(off.status).toBe(200);
    expect((await get(a, '/v1/plugins/echo/echo')).status).toBe(404);
    await until(b, '/v1/plugins/echo/echo', 404);
    const listed = await plugins(b);
    expect(listed).toEqual(await plugins(a));
    expect(listed).toContainEqual(expect.objectContaining({ name: 'echo', version: '0.1.0', state: 'disabled', disabled_reason: 'fleet test' }));
    expect(listed).toContainEqual(expect.objectContaining({ name: 'boom', state: 'enabled' }));

    // Restarted, b reads the switch from the store before it serves.
    b.proc.child.kill('SIGTERM');
    await b.proc.done;
    b = await serve();
    expect((await get(b, '/v1/plugins/echo/echo')).status).toBe(404);
    expect(await plugins(b)).toEqual(await plugins(a));
  });

  it('the remote plugin CLI lists, enables and disables through a server, fleet-wide; bad input exits non-zero with a message', async () => {
    const list = await remote(a, ADMIN_KEY, 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { items: unknown }).items).toEqual(await plugins(b));
    const table = await remote(b, ADMIN_KEY, 'list');
    expect(table.stdout).toMatch(/echo\s+echo\s+0\.1\.0\s+linked\s+in-process\s+disabled: fleet test/);

    const on = await remote(a, ADMIN_KEY, 'enable', 'echo', '--json');
    expect(on.code, on.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ name: 'echo', state: 'enabled' });
    await until(b, '/v1/plugins/echo/echo', 200);

    const off = await remote(b, ADMIN_KEY, 'disable', 'echo', '--reason', 'from the CLI');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('Disabled plugin echo on every process');
    await until(a, '/v1/plugins/echo/echo', 404);
    const audit = (await (await get(a, '/v1/audit?action=plugin.disable')).json()) as { items: Array<{ principal: string; target: string }> };
    expect(audit.items).toContainEqual(expect.objectContaining({ principal: 'ops', target: 'echo' }));

    const unknown = await remote(a, ADMIN_KEY, 'disable', 'nobody', '--reason', 'x');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no plugin named nobody');
    const noReason = await remote(a, ADMIN_KEY, 'disable', 'echo');
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain('--reason');
    const badName = await remote(a, ADMIN_KEY, 'enable', 'Not A Name');
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).not.toBe('');
    const viewer = await remote(a, VIEWER_KEY, 'enable', 'echo');
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toContain('forbidden');
    const viewerList = await remote(a, VIEWER_KEY, 'list');
    expect(viewerList.code).not.toBe(0);
    // Refused calls changed nothing.
    expect((await get(a, '/v1/plugins/echo/echo')).status).toBe(404);
    expect((await get(b, '/v1/plugins/echo/echo')).status).toBe(404);
  });
});
