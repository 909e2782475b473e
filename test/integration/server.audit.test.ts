/**
 * The audit log over HTTP: the services record who did what (principal, request id, client
 * address, outcome) for run starts and cancels, refusals and schedule switches; failed sign-ins
 * are recorded at most once a minute per address; `GET /v1/audit` filters and pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryDto, AuditPageDto } from '../../src/app/dto/audit.js';
import { runCli } from '../helpers/cli.js';
import { fixtureToolSpec, KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let url: string;

beforeAll(async () => {
  api = await startTestApi({
    start: false,
    // The switch does not need a connection: the fixture server is never started.
    tools: [fixtureToolSpec()],
    workflows: [
      { name: 'nap', steps: { long: { sleep: '1h' } } },
      { name: 'yearly', schedule: { cron: '0 0 1 1 *' }, steps: { a: { transform: 1 } } },
    ],
  });
  url = await listen(api.app);
});
afterAll(async () => {
  await api.close();
});

async function audit(query: string): Promise<AuditEntryDto[]> {
  const res = await api.app.inject({ url: `/v1/audit?${query}`, headers: api.auth('admin') });
  expect(res.statusCode).toBe(200);
  return res.json<AuditPageDto>().items;
}

describe('audit entries of actions', () => {
  it('records a run start and a cancel with principal, request id and client address', async () => {
    const started = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/nap/runs',
      headers: { ...api.auth('operator'), 'x-request-id': 'req-start-1' },
      payload: { input: {} },
    });
    expect(started.statusCode).toBe(201);
    const runId = started.json<{ id: string }>().id;
    const cancelled = await api.app.inject({
      method: 'POST',
      url: `/v1/runs/${runId}/cancel`,
      headers: { ...api.auth('operator'), 'x-request-id': 'req-cancel-1' },
      payload: {},
    });
    expect(cancelled.statusCode).toBe(200);

    const [start] = await audit('action=run.start&principal=operator');
    expect(start).toMatchObject({
      action: 'run.start',
      target: 'workflow:nap',
      principal: 'operator',
      request_id: 'req-start-1',
      client_ip: '127.0.0.1',
      outcome: 'success',
      details: { run_id: runId, replayed: false },
    });
    const [cancel] = await audit(`target=run:${runId}`);
    expect(cancel).toMatchObject({ action: 'run.cancel', principal: 'operator', request_id: 'req-cancel-1', outcome: 'success' });
  });

  it('records a refused action as denied, with the error code', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/runs/run_missing/cancel', headers: api.auth('operator'), payload: {} });
    expect(res.statusCode).toBe(404);
    const [entry] = await audit('target=run:run_missing');
    expect(entry).toMatchObject({ action: 'run.cancel', outcome: 'denied', details: { error: 'not_found' } });
  });

  it('records schedule pause and resume', async () => {
    for (const verb of ['pause', 'resume']) {
      const res = await api.app.inject({ method: 'POST', url: `/v1/schedules/yearly/${verb}`, headers: api.auth('operator'), payload: {} });
      expect(res.statusCode).toBe(200);
    }
    const entries = await audit('target=schedule:yearly');
    expect(entries.map((e) => e.action)).toEqual(['schedule.resume', 'schedule.pause']);
  });

  it('records tool disable and enable, and refused task decisions and signals', async () => {
    const disabled = await api.app.inject({ method: 'POST', url: '/v1/tools/fx/disable', headers: api.auth('operator'), payload: { reason: 'incident 42' } });
    expect(disabled.statusCode).toBe(200);
    const enabled = await api.app.inject({ method: 'POST', url: '/v1/tools/fx/enable', headers: api.auth('operator'), payload: {} });
    expect(enabled.statusCode).toBe(200);
    expect((await audit('target=tool:fx')).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['tool.enable', 'success', { was_disabled: true, reason: 'incident 42' }],
      ['tool.disable', 'success', { reason: 'incident 42' }],
    ]);

    const decided = await api.app.inject({
      method: 'POST',
      url: '/v1/tasks/task_missing/complete',
      headers: api.auth('admin'),
      payload: { decision: 'approve' },
    });
    expect(decided.statusCode).toBe(404);
    expect(await audit('target=task:task_missing')).toEqual([expect.objectContaining({ action: 'task.decide', principal: 'admin', outcome: 'denied' })]);
    const signalled = await api.app.inject({ method: 'POST', url: '/v1/runs/run_gone/signals/go', headers: api.auth('operator'), payload: {} });
    expect(signalled.statusCode).toBe(404);
    expect(await audit('target=run:run_gone')).toEqual([expect.objectContaining({ action: 'run.signal', outcome: 'denied' })]);
  });

  it('records a failed sign-in once a minute per client address, never the key', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await api.app.inject({ url: '/v1/runs', headers: { authorization: 'Bearer wrong-key-0123456789abcdef' }, remoteAddress: '10.9.8.7' });
      expect(res.statusCode).toBe(401);
    }
    const entries = (await audit('action=auth.sign_in')).filter((e) => e.client_ip === '10.9.8.7');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ principal: 'anonymous', outcome: 'denied' });
    expect(JSON.stringify(entries[0])).not.toContain('wrong-key');
  });
});

describe('GET /v1/audit', () => {
  it('pages newest first with a cursor and filters by time', async () => {
    const first = await api.app.inject({ url: '/v1/audit?limit=2', headers: api.auth('admin') });
    const page = first.json<AuditPageDto>();
    expect(page.items).toHaveLength(2);
    expect(page.items[0]!.seq).toBeGreaterThan(page.items[1]!.seq);
    const next = await api.app.inject({ url: `/v1/audit?limit=2&cursor=${page.next_cursor}`, headers: api.auth('admin') });
    expect(next.json<AuditPageDto>().items[0]!.seq).toBe(page.items[1]!.seq - 1);
    expect(await audit('before=2000-01-01T00:00:00Z')).toEqual([]);
  });

  it('answers 400 for a bad time', async () => {
    const res = await api.app.inject({ url: '/v1/audit?after=yesterday', headers: api.auth('admin') });
    expect(res.statusCode).toBe(400);
  });
});

describe('entries by run, and the JSON Lines export', () => {
  async function startAndCancel(): Promise<string> {
    const started = await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', headers: api.auth('operator'), payload: { input: {} } });
    const runId = started.json<{ id: string }>().id;
    await api.app.inject({ method: 'POST', url: `/v1/runs/${runId}/cancel`, headers: api.auth('admin'), payload: {} });
    return runId;
  }

  it('?run_id= lists the start and the cancel of a run, with who did them', async () => {
    const runId = await startAndCancel();
    await startAndCancel(); // another run's entries stay out
    const entries = await audit(`run_id=${runId}`);
    expect(entries.map((e) => [e.action, e.principal, e.run_id])).toEqual([
      ['run.cancel', 'admin', runId],
      ['run.start', 'operator', runId],
    ]);
    expect(entries.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
  });

  it('GET /v1/audit/export streams every matching entry oldest first as JSON Lines, after a seq', async () => {
    const runId = await startAndCancel();
    const res = await api.app.inject({ url: `/v1/audit/export?run_id=${runId}`, headers: api.auth('admin') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEntryDto);
    expect(lines.map((e) => e.action)).toEqual(['run.start', 'run.cancel']);
    const after = await api.app.inject({ url: `/v1/audit/export?run_id=${runId}&after_seq=${lines[0]!.seq}`, headers: api.auth('admin') });
    expect(
      after.body
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as AuditEntryDto).seq),
    ).toEqual([lines[1]!.seq]);
    // Unfiltered, the export is the whole chain in order: each entry chains to the one before.
    const all = (await api.app.inject({ url: '/v1/audit/export', headers: api.auth('admin') })).body.trimEnd().split('\n');
    const entries = all.map((line) => JSON.parse(line) as AuditEntryDto);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev_hash).toBe(entries[i - 1]!.hash);
    expect(entries.length).toBeGreaterThan(2);
  });

  it('answers 400 for a bad after_seq or time, before streaming anything', async () => {
    for (const query of ['after_seq=-1', 'after_seq=x', 'after=yesterday']) {
      const res = await api.app.inject({ url: `/v1/audit/export?${query}`, headers: api.auth('admin') });
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('agentry audit export and list --run read the server with AGENTRY_URL', async () => {
    const runId = await startAndCancel();
    // The CLI runs as a child process: its connections end with it.
    const env = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.admin };
    const exported = await runCli(['audit', 'export', '--run', runId], { env });
    expect(exported.code, exported.stderr).toBe(0);
    expect(
      exported.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as AuditEntryDto).action),
    ).toEqual(['run.start', 'run.cancel']);
    const listed = await runCli(['audit', 'list', '--run', runId, '--jsonl'], { env });
    expect(
      listed.stdout
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as AuditEntryDto).action),
    ).toEqual(['run.cancel', 'run.start']);
    const refused = await runCli(['audit', 'export'], { env: { ...env, AGENTRY_API_KEY: KEYS.viewer } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('audit:read');
  });
});
