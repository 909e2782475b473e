/**
 * `agentry limits show` locally (the project's `limits:` with the store's usage) and with
 * AGENTRY_URL (what `GET /v1/admin/quotas` returns), and a local `agentry run` refused by a
 * run quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleProject, killAll, removeDir, runCli, runCliInProcess } from '../helpers/cli.js';
import { KEYS, limitsFrom, listen, startTestApi, type TestApi } from '../helpers/server.js';

const AGENTRY_YAML = `version: v1
name: demo
limits:
  tenants:
    defaults: { max_runs_per_hour: 1 }
    acme: { requests_per_minute: 60, burst: 10, max_concurrent_runs: 5 }
  roles: { service: { requests_per_minute: 300 } }
`;

let project: string;
let api: TestApi;
let url: string;

beforeAll(async () => {
  project = exampleProject({ 'agentry.yaml': AGENTRY_YAML });
  api = await startTestApi({ start: false, limits: limitsFrom({ tenants: { acme: { max_concurrent_runs: 5 } }, keys: { ci: { requests_per_minute: 30 } } }) });
  url = await listen(api.app);
});
afterAll(async () => {
  await api?.close();
  await killAll();
  removeDir(project);
});

describe('agentry limits show', { timeout: 120_000 }, () => {
  it('shows the project’s limits locally, with zero usage before there is a store', async () => {
    const shown = await runCliInProcess(['limits', 'show', '--json', '--dir', project]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({
      defaults: { requests_per_minute: null, burst: null, max_concurrent_runs: 1000, max_runs_per_hour: 1 },
      tenants: { acme: { requests_per_minute: 60, burst: 10, max_concurrent_runs: 5, max_runs_per_hour: 1 } },
      roles: { service: { requests_per_minute: 300, burst: 300 } },
      keys: {},
      usage: [
        {
          tenant_id: 'acme',
          limits: { requests_per_minute: 60, burst: 10, max_concurrent_runs: 5, max_runs_per_hour: 1 },
          concurrent_runs: 0,
          runs_last_hour: 0,
        },
        {
          tenant_id: 'default',
          limits: { requests_per_minute: null, burst: null, max_concurrent_runs: 1000, max_runs_per_hour: 1 },
          concurrent_runs: 0,
          runs_last_hour: 0,
        },
      ],
    });
  });

  it('refuses a local run past the hourly quota, and shows the usage', async () => {
    const first = await runCliInProcess(['run', 'welcome', '--json', '--dir', project, '--input', '{"name":"Ada"}']);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCliInProcess(['run', 'welcome', '--json', '--dir', project, '--input', '{"name":"Ada"}']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('tenant default has 1 runs started in the last hour, its quota max_runs_per_hour is 1');

    const text = await runCliInProcess(['limits', 'show', '--dir', project]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/TENANT\s+REQUESTS\s+CONCURRENT RUNS\s+RUNS PER HOUR/);
    expect(text.stdout).toMatch(/\(defaults\)\s+unlimited\s+1000\s+1/);
    expect(text.stdout).toMatch(/acme\s+60\/min \(burst 10\)\s+5\s+1/);
    expect(text.stdout).toMatch(/role service\s+300\/min \(burst 300\)/);
    expect(text.stdout).toMatch(/default\s+1\/1000\s+1\/1/);
  });

  it('prints what GET /v1/admin/quotas returns with AGENTRY_URL', async () => {
    // Child processes: an in-process client would keep its sockets to the server open.
    const [remote, refused] = await Promise.all([
      runCli(['limits', 'show', '--json'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer } }),
      runCli(['limits', 'show'], { env: { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.service } }),
    ]);
    expect(remote.code, remote.stderr).toBe(0);
    const direct = await api.app.inject({ url: '/v1/admin/quotas', headers: api.auth('viewer') });
    expect(JSON.parse(remote.stdout)).toEqual(direct.json());
    expect(JSON.parse(remote.stdout)).toMatchObject({ keys: { ci: { requests_per_minute: 30, burst: 30 } } });
    // A key without usage:read is refused.
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('missing required scope: usage:read');
  });
});
