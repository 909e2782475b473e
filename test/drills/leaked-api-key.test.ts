/**
 * Drill of docs/operations/runbooks/leaked-api-key.md: a managed API key "leaks" and is used to
 * start a run and read runs. The page's commands find the key, rotate it with no grace, show the
 * old key refused (401) and the new one accepted, and find in the audit log the run the key
 * started and the refused sign-in of whoever still presents it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDto } from '../../src/cli/remote.js';
import { killAll, removeDir, runCliInProcess } from '../helpers/cli.js';
import { eventually } from '../helpers/engine.js';
import { KEYS } from '../helpers/server.js';
import { drillProject, type DrillServer, pageCommand, runPageCommand, startDrillServer } from '../helpers/runbook.js';

const PAGE = 'leaked-api-key';

let project: string;
let server: DrillServer;
/** The CLI as the admin handling the incident. */
let admin: Record<string, string>;

beforeAll(async () => {
  project = drillProject({ 'workflows/hello.yaml': 'version: v1\nname: hello\nsteps:\n  greet: { transform: { text: hi } }\n' });
  server = await startDrillServer(project);
  admin = { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.admin };
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await killAll();
  removeDir(project);
});

const page = (start: string, vars: Record<string, string> = {}) => runPageCommand(pageCommand(PAGE, start), vars, { env: admin });

async function as(key: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('leaked API key drill', { timeout: 180_000 }, () => {
  const exposedAt = new Date(Date.now() - 60_000).toISOString();
  let leaked: string;
  let leakedRun: RunDto;
  let fresh: string;

  it('a managed key is leaked and used; the page finds it', async () => {
    const created = await runCliInProcess(['keys', 'create', '--name', 'ci-bot', '--role', 'operator', '--json'], { env: admin });
    expect(created.code, created.stderr).toBe(0);
    leaked = (JSON.parse(created.stdout) as { secret: string }).secret;
    const started = await as(leaked, 'POST', '/v1/workflows/hello/runs', { input: {} });
    expect(started.status).toBe(201);
    leakedRun = (await started.json()) as RunDto;
    expect((await as(leaked, 'GET', '/v1/runs')).status).toBe(200);

    const listed = await page('agentry keys list --name', { 'key-name': 'ci-bot' });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ci-bot/);
    expect(listed.stdout).toMatch(/active/);
  });

  it('the page rotates it with no grace: the leaked key gets 401, the new one 200', async () => {
    expect(leaked, 'the previous test ran').toBeDefined();
    const rotated = await page('agentry keys rotate', { 'key-name': 'ci-bot' });
    expect(rotated.code, rotated.stderr).toBe(0);
    fresh = /agk_[A-Za-z0-9_-]+/.exec(rotated.stdout)?.[0] ?? '';
    expect(fresh, rotated.stdout).not.toBe('');
    expect(fresh).not.toBe(leaked);

    const old = pageCommand(PAGE, 'curl -s -o /dev/null -w \'%{http_code}\\n\' -H "Authorization: Bearer <leaked-key>"');
    const refused = await eventually(
      async () => {
        const result = await runPageCommand(old, { 'leaked-key': leaked }, { env: admin });
        return result.stdout.trim() === '401' ? result : undefined;
      },
      10_000,
      'the leaked key to be refused',
    );
    expect(refused.code).toBe(0);
    const accepted = await runPageCommand(
      pageCommand(PAGE, 'curl -s -o /dev/null -w \'%{http_code}\\n\' -H "Authorization: Bearer <new-key>"'),
      { 'new-key': fresh },
      { env: admin },
    );
    expect(accepted.stdout.trim()).toBe('200');
  });

  it("the page's audit queries show what the key did and who still presents it", async () => {
    expect(fresh, 'the previous test ran').toBeDefined();
    const [byKey, signIns, rotation, asJson] = await Promise.all([
      page('agentry audit list --principal', { 'key-name': 'ci-bot', 'exposed-at': exposedAt }),
      page('agentry audit list --action auth.sign_in', { 'exposed-at': exposedAt }),
      page('agentry audit list --principal', { 'key-name': 'admin', 'exposed-at': exposedAt }),
      runCliInProcess(['audit', 'list', '--principal', 'ci-bot', '--after', exposedAt, '--json'], { env: admin }),
    ]);
    expect(byKey.code, byKey.stderr).toBe(0);
    expect(byKey.stdout).toMatch(/ci-bot +run\.start +workflow:hello +success +127\.0\.0\.1/);
    expect((JSON.parse(asJson.stdout) as { items: { action: string; run_id: string | null }[] }).items).toContainEqual(
      expect.objectContaining({ action: 'run.start', run_id: leakedRun.id }),
    );
    expect(signIns.code, signIns.stderr).toBe(0);
    expect(signIns.stdout).toMatch(/auth\.sign_in .*denied/);
    expect(rotation.stdout).toMatch(/key\.rotate .*key:default\/ci-bot/);
  });
});
