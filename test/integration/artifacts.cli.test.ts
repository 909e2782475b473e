/**
 * `agentry runs artifacts` and `agentry runs artifact`: on the project's store (both kinds) and
 * against a server (`AGENTRY_URL`, a viewer's key): the list as text and as the API's JSON, the
 * download to a file byte-exact (an existing file refused without --force) and to stdout, and
 * clear errors for an unknown name or a traversal.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { cliStoreTargets, tempDir } from '../helpers/store.js';

const REPORT = Buffer.from('# Report\n\nAll green: ✓\n');

const REPORT_YAML = `name: report
artifacts: [out/report.md]
steps:
  fetch:
    http: { url: "{{ input.url }}/report", save_body_as: out/report.md }
`;

let upstream: TestServer;
beforeAll(async () => {
  upstream = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/markdown' });
    res.end(REPORT);
  });
});
afterAll(async () => {
  await upstream.close();
});

describe.each(cliStoreTargets)('agentry runs artifacts|artifact on the project store ($name)', (target) => {
  let dir: { dir: string; remove: () => void };
  let env: Record<string, string>;
  let done: () => Promise<void>;
  const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { env, cwd: dir.dir });

  beforeAll(async () => {
    dir = tempDir('agentry-artifacts-cli-');
    mkdirSync(join(dir.dir, 'workflows'));
    writeFileSync(join(dir.dir, 'workflows/report.yaml'), REPORT_YAML);
    ({ env, done } = await target.env());
  }, 60_000);
  afterAll(async () => {
    await done();
    dir.remove();
  });

  it('lists and downloads what a run wrote', async () => {
    const started = await cli(['run', 'report', '-i', JSON.stringify({ url: upstream.url }), '--wait', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).id as string;

    const json = await cli(['runs', 'artifacts', id, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      run_id: id,
      total_bytes: REPORT.length,
      items: [{ name: 'out/report.md', size: REPORT.length, step: 'fetch' }],
    });
    const text = await cli(['runs', 'artifacts', id]);
    expect(text.stdout).toMatch(/out\/report\.md\s+\S+ B\s+text\/markdown\s+fetch/);

    const out = join(dir.dir, 'report.md');
    const saved = await cli(['runs', 'artifact', id, 'out/report.md', '--output', out]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(readFileSync(out).equals(REPORT)).toBe(true);
    const again = await cli(['runs', 'artifact', id, 'out/report.md', '--output', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('exists; pass --force');
    expect((await cli(['runs', 'artifact', id, 'out/report.md', '--output', out, '--force'])).code).toBe(0);
    const stdout = await cli(['runs', 'artifact', id, 'out/report.md']);
    expect(stdout.stdout).toBe(REPORT.toString());

    const missing = await cli(['runs', 'artifact', id, 'out/other.md']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not_found');
    const climbing = await cli(['runs', 'artifact', id, '../agentry.db']);
    expect(climbing.code).toBe(2);
    expect(climbing.stderr).toContain('invalid_request');
  });
});

describe('agentry runs artifacts|artifact against a server', () => {
  let api: TestApi;
  let url: string;
  let dir: { dir: string; remove: () => void };

  beforeAll(async () => {
    dir = tempDir('agentry-artifacts-remote-');
    api = await startTestApi({
      workflows: [
        { name: 'report', artifacts: ['out/report.md'], steps: { fetch: { http: { url: '{{ input.url }}/report', save_body_as: 'out/report.md' } } } },
      ],
    });
    url = await listen(api.app);
  });
  afterAll(async () => {
    await api.close();
    dir.remove();
  });

  it("prints the server's list with --json and downloads byte-exact with a viewer's key", async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/report/runs?wait=20s',
      payload: { input: { url: upstream.url } },
      headers: api.auth('admin'),
    });
    const id = res.json<{ id: string }>().id;
    const env = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer };
    const list = await runCli(['runs', 'artifacts', id, '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ items: [{ name: 'out/report.md', size: REPORT.length }] });
    const out = join(dir.dir, 'r.md');
    const saved = await runCli(['runs', 'artifact', id, 'out/report.md', '-o', out], { env, cwd: dir.dir });
    expect(saved.code, saved.stderr).toBe(0);
    expect(readFileSync(out).equals(REPORT)).toBe(true);
    const missing = await runCli(['runs', 'artifact', id, 'nope.md', '-o', join(dir.dir, 'x')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not_found');
  });
});
