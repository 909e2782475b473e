/**
 * `--tenant` on the CLI's data commands against a server (`AGENTRY_URL`): sent as `?tenant=`,
 * so a system admin key reads the tenant it names, and a key of one tenant naming another gets
 * the server's 403 (exit 2) without a byte of the other tenant's data. The CLI runs as a child
 * process (its HTTP connections end with it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { listen } from '../helpers/server.js';
import { sqliteFactory } from '../helpers/store.js';
import { ROOT_KEY, startTenantWorld, tenantKey, type TenantWorld } from '../helpers/tenants.js';

let world: TenantWorld;
let url: string;

beforeAll(async () => {
  world = await startTenantWorld(sqliteFactory);
  url = await listen(world.api.app);
}, 120_000);
afterAll(async () => {
  await world.api.close();
});

const cli = (key: string, args: string[]) => runCli(args, { env: { AGENTRY_URL: url, AGENTRY_API_KEY: key } });

describe('agentry … --tenant (AGENTRY_URL)', { timeout: 120_000 }, () => {
  it("lets a system admin read the tenant it names with runs, tasks and schedules, and nothing of another's", async () => {
    const { acme, globex } = world.objects;
    const runs = await cli(ROOT_KEY, ['runs', 'list', '--json', '--tenant', 'globex']);
    expect(runs.code, runs.stderr).toBe(0);
    const ids = (JSON.parse(runs.stdout) as { items: { id: string; tenant_id: string }[] }).items;
    expect(ids.map((r) => r.id)).toContain(globex.napRun);
    expect(new Set(ids.map((r) => r.tenant_id))).toEqual(new Set(['globex']));

    const task = await cli(ROOT_KEY, ['tasks', 'show', acme.task, '--json', '--tenant', 'acme']);
    expect(task.code, task.stderr).toBe(0);
    expect(JSON.parse(task.stdout)).toMatchObject({ id: acme.task });
    const elsewhere = await cli(ROOT_KEY, ['tasks', 'show', acme.task, '--tenant', 'globex']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('not_found');

    const schedules = await cli(ROOT_KEY, ['schedules', 'list', '--json', '--tenant', 'acme']);
    expect(JSON.parse(schedules.stdout)).toMatchObject({ items: [{ workflow: 'yearly_acme', tenant_id: 'acme' }] });

    const events = await cli(ROOT_KEY, ['runs', 'events', globex.napRun, '--json', '--tenant', 'globex']);
    expect(events.code, events.stderr).toBe(0);
    expect((JSON.parse(events.stdout) as { type: string }[])[0]).toMatchObject({ type: 'run.created' });
  });

  it("answers a tenant's key naming another tenant with the server's 403, exit 2, and its own tenant as usual", async () => {
    const refused = await cli(tenantKey('acme', 'operator'), ['runs', 'list', '--json', '--tenant', 'globex']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('forbidden');
    expect(refused.stdout).not.toContain(world.objects.globex.napRun);
    const own = await cli(tenantKey('acme', 'operator'), ['runs', 'list', '--json', '--tenant', 'acme']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain(world.objects.acme.napRun);
    const bad = await cli(tenantKey('acme', 'operator'), ['runs', 'list', '--tenant', 'not a tenant']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a tenant id');
  });
});
