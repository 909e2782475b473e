/**
 * Audit coverage: every action the audit log promises (docs/security.md#audit-log) — run start,
 * cancel, retry and signal, task decisions, tool and schedule switches, worker drains, the
 * maintenance switch and forced sweeps, clearing and pruning agents' memory, failed sign-ins over
 * HTTP; migrations and pruning from the CLI — leaves exactly one entry, with time, tenant,
 * principal, action, target, request id, outcome and client address, on SQLite and PostgreSQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryDto } from '../../src/app/dto/audit.js';
import { AUDIT_LOG_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import type { Role } from '../../src/server/scopes.js';
import { runCliInProcess } from '../helpers/cli.js';
import { openTask } from '../helpers/engine.js';
import { fixtureToolSpec, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { storeFactories, tempDir } from '../helpers/store.js';
import { stepWaiting, TASK_WORKFLOWS } from '../helpers/tasks.js';

const YEARLY = { name: 'yearly', schedule: { cron: '0 0 1 1 *' }, steps: { a: { transform: 1 } } };

/** What an action is expected to record (besides time, request id and client address, checked for all). */
interface Expected {
  role: Role | null;
  action: string;
  target: string;
  outcome: 'success' | 'denied';
  details?: Record<string, unknown>;
  run_id?: string | null;
}

for (const factory of storeFactories) {
  describe(`every audited API action leaves exactly one entry (${factory.name})`, () => {
    let api: TestApi;
    let request = 0;

    beforeAll(async () => {
      api = await startTestApi({ factory, tools: [fixtureToolSpec()], workflows: [...WORKFLOWS, ...TASK_WORKFLOWS, YEARLY] });
    });
    afterAll(async () => {
      await api.close();
    });

    /** The tenant a caller's entries carry: the one it acts in, as whoami says. */
    async function actingTenant(role: Role): Promise<string> {
      const whoami = (await api.app.inject({ url: '/v1/auth/whoami', headers: api.auth(role) })).json<{ tenant_id: string }>();
      return whoami.tenant_id;
    }

    /**
     * Makes the request as `expected.role` from a client address and request id of its own,
     * and checks the audit log grew by exactly one entry, with every field as expected.
     */
    async function expectOneEntry(
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      expected: Expected,
      payload?: unknown,
      status = expected.outcome === 'success' ? [200, 201, 202] : [404],
    ): Promise<AuditEntryDto> {
      request += 1;
      const requestId = `coverage-${request}`;
      const clientIp = `10.1.0.${request}`;
      const headBefore = (await api.store.auditHead()).seq;
      const before = Date.now();
      const res = await api.app.inject({
        method,
        url,
        headers: { ...api.auth(expected.role), 'x-request-id': requestId },
        remoteAddress: clientIp,
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      expect(status, res.body).toContain(res.statusCode);
      const after = Date.now();
      expect((await api.store.auditHead()).seq, `${expected.action} wrote exactly one entry`).toBe(headBefore + 1);
      const entries = await api.app.inject({ url: `/v1/audit?limit=1`, headers: api.auth('admin') });
      const entry = entries.json<{ items: AuditEntryDto[] }>().items[0]!;
      expect(entry).toMatchObject({
        seq: headBefore + 1,
        tenant_id: expected.role === null ? null : await actingTenant(expected.role),
        principal: expected.role ?? 'anonymous',
        action: expected.action,
        target: expected.target,
        request_id: requestId,
        outcome: expected.outcome,
        client_ip: clientIp,
        ...(expected.run_id === undefined ? {} : { run_id: expected.run_id }),
      });
      if (expected.details) expect(entry.details).toMatchObject(expected.details);
      const at = Date.parse(entry.at);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
      return entry;
    }

    it('run.start, run.cancel, run.retry', async () => {
      const started = await expectOneEntry(
        'POST',
        '/v1/workflows/nap/runs',
        { role: 'operator', action: 'run.start', target: 'workflow:nap', outcome: 'success' },
        { input: {} },
      );
      const runId = started.details!.run_id as string;
      expect(started.run_id).toBe(runId);
      await expectOneEntry(
        'POST',
        `/v1/runs/${runId}/cancel`,
        { role: 'operator', action: 'run.cancel', target: `run:${runId}`, outcome: 'success', run_id: runId },
        {},
      );
      const retried = await expectOneEntry(
        'POST',
        `/v1/runs/${runId}/retry`,
        { role: 'admin', action: 'run.retry', target: `run:${runId}`, outcome: 'success', run_id: runId },
        {},
      );
      expect(retried.details).toMatchObject({ new_run_id: expect.stringMatching(/^run_/) as unknown });
      // A refused action is one entry too, `denied`, with the error's code.
      await expectOneEntry(
        'POST',
        '/v1/runs/run_nowhere/cancel',
        { role: 'operator', action: 'run.cancel', target: 'run:run_nowhere', outcome: 'denied', details: { error: 'not_found' } },
        {},
      );
    });

    it('run.signal and task.decide', async () => {
      const gate = await api.engine.startRun('gate', {}, { createdBy: 'operator' });
      await stepWaiting(api.engine, gate.id, 'go');
      await expectOneEntry(
        'POST',
        `/v1/runs/${gate.id}/signals/go`,
        { role: 'operator', action: 'run.signal', target: `run:${gate.id}`, outcome: 'success', details: { signal: 'go' } },
        { ok: true },
      );
      const approval = await api.engine.startRun('approval', { item: 'coverage' });
      const task = await openTask(api.store, approval.id);
      await expectOneEntry(
        'POST',
        `/v1/tasks/${task.id}/complete`,
        {
          role: 'reviewer',
          action: 'task.decide',
          target: `task:${task.id}`,
          outcome: 'success',
          details: { decision: 'submit', run_id: approval.id },
          run_id: approval.id,
        },
        { decision: 'submit', data: { reason: 'fine' } },
      );
    });

    it('tool.disable, tool.enable, schedule.pause, schedule.resume', async () => {
      await expectOneEntry(
        'POST',
        '/v1/tools/fx/disable',
        { role: 'operator', action: 'tool.disable', target: 'tool:fx', outcome: 'success', details: { reason: 'incident' } },
        { reason: 'incident' },
      );
      await expectOneEntry('POST', '/v1/tools/fx/enable', { role: 'operator', action: 'tool.enable', target: 'tool:fx', outcome: 'success' }, {});
      await expectOneEntry(
        'POST',
        '/v1/schedules/yearly/pause',
        { role: 'admin', action: 'schedule.pause', target: 'schedule:yearly', outcome: 'success' },
        {},
      );
      await expectOneEntry(
        'POST',
        '/v1/schedules/yearly/resume',
        { role: 'admin', action: 'schedule.resume', target: 'schedule:yearly', outcome: 'success' },
        {},
      );
    });

    it('worker.drain, maintenance.on, maintenance.off', async () => {
      // A registered worker of no process: draining the test API's own engine would stop it.
      const now = Date.now();
      await api.store.upsertWorker({ id: 'wrk_audit', host: 'h', pid: 1, roles: ['worker'], concurrency: 1, startedAt: now, heartbeatAt: now });
      await expectOneEntry(
        'POST',
        '/v1/admin/workers/wrk_audit/drain',
        { role: 'operator', action: 'worker.drain', target: 'worker:wrk_audit', outcome: 'success', details: { host: 'h', pid: 1, current_steps: 0 } },
        {},
      );
      await expectOneEntry(
        'PUT',
        '/v1/admin/maintenance',
        { role: 'admin', action: 'maintenance.on', target: 'maintenance', outcome: 'success', details: { reason: 'coverage' } },
        { reason: 'coverage' },
      );
      await expectOneEntry('DELETE', '/v1/admin/maintenance', {
        role: 'admin',
        action: 'maintenance.off',
        target: 'maintenance',
        outcome: 'success',
        details: { was_on: true, by: 'admin', reason: 'coverage' },
      });
    });

    it('memory.clear, memory.prune', async () => {
      await api.store.appendMemory(await actingTenant('operator'), 'helper', 'audit/thread', [{ role: 'user', content: 'hi' }], 50, Date.now());
      await expectOneEntry('DELETE', `/v1/memory/threads/${encodeURIComponent('audit/thread')}`, {
        role: 'operator',
        action: 'memory.clear',
        target: 'memory:audit/thread',
        outcome: 'success',
        details: { agent: null, deleted: 1 },
      });
      await expectOneEntry('DELETE', '/v1/memory/threads/audit%2Fthread', {
        role: 'operator',
        action: 'memory.clear',
        target: 'memory:audit/thread',
        outcome: 'denied',
        details: { error: 'not_found' },
      });
      await expectOneEntry('DELETE', '/v1/memory/threads?older_than=30d', {
        role: 'admin',
        action: 'memory.prune',
        target: 'memory',
        outcome: 'success',
        details: { deleted: 0, older_than_ms: 30 * 24 * 3600 * 1000 },
      });
    });

    it('admin.sweep', async () => {
      await expectOneEntry(
        'POST',
        '/v1/admin/sweep',
        { role: 'admin', action: 'admin.sweep', target: 'scheduler', outcome: 'success', details: { leases_expired: 0, runs_timed_out: 0, tasks_overdue: 0 } },
        {},
      );
    });

    it('auth.sign_in: a failed sign-in is one entry, a repeat from the same address within the minute none', async () => {
      const headBefore = (await api.store.auditHead()).seq;
      const bad = { authorization: 'Bearer not-a-key-0123456789abcdef', 'x-request-id': 'coverage-sign-in' };
      expect((await api.app.inject({ url: '/v1/runs', headers: bad, remoteAddress: '10.2.0.1' })).statusCode).toBe(401);
      expect((await api.app.inject({ url: '/v1/runs', headers: bad, remoteAddress: '10.2.0.1' })).statusCode).toBe(401);
      expect((await api.store.auditHead()).seq).toBe(headBefore + 1);
      const [entry] = (await api.store.listAudit({ action: 'auth.sign_in', limit: 1 })).items;
      expect(entry).toMatchObject({ principal: 'anonymous', target: null, requestId: 'coverage-sign-in', outcome: 'denied', clientIp: '10.2.0.1' });
      expect(JSON.stringify(entry)).not.toContain('not-a-key');
    });
  });
}

describe('audited CLI actions leave exactly one entry each', () => {
  const { dir, remove } = tempDir();
  const env = { AGENTRY_PROJECT_DIR: dir, USER: 'ops-alice' };
  afterAll(remove);

  async function entries(): Promise<AuditEntryDto[]> {
    const res = await runCliInProcess(['audit', 'export'], { env });
    expect(res.code, res.stderr).toBe(0);
    return res.stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditEntryDto);
  }

  it('store.migrate: one entry per migration applied by agentry migrate, by the CLI user; none when current', async () => {
    mkdirSync(join(dir, 'workflows'), { recursive: true });
    writeFileSync(join(dir, 'workflows', 'noop.yaml'), 'name: noop\nsteps:\n  a:\n    transform: 1\n');
    const first = await runCliInProcess(['migrate', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { from: number; current: number; applied: number[] };
    expect(report).toMatchObject({ from: 0, applied: MIGRATIONS.map((m) => m.version) });
    const migrated = await entries();
    expect(migrated.map((e) => [e.principal, e.action, e.target, e.outcome, e.tenant_id, e.request_id, e.client_ip])).toEqual(
      MIGRATIONS.map((m) => ['ops-alice', 'store.migrate', `schema:${m.version}`, 'success', null, null, null]),
    );
    expect(migrated.at(-1)!.details).toMatchObject({ from: MIGRATIONS.at(-2)!.version, to: MIGRATIONS.at(-1)!.version });
    expect(migrated[0]!.details).toMatchObject({ from: 0, to: 1, recorded_late: AUDIT_LOG_VERSION > 1 });

    const again = await runCliInProcess(['migrate'], { env });
    expect(again.stdout).toContain('nothing to apply');
    expect(await entries()).toHaveLength(migrated.length);
  });

  it('audit.prune: one entry by the CLI user, anchoring what is kept; none when nothing is old enough', async () => {
    const before = await entries();
    await new Promise((resolve) => setTimeout(resolve, 5)); // every entry is older than the cut-off
    const pruned = await runCliInProcess(['audit', 'prune', '--older-than', '1ms', '--json'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ pruned: before.length });
    const after = await entries();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      principal: 'ops-alice',
      action: 'audit.prune',
      target: null,
      outcome: 'success',
      details: { pruned_through_seq: before.at(-1)!.seq, pruned_hash: before.at(-1)!.hash, pruned_count: before.length },
    });
    const verified = await runCliInProcess(['audit', 'verify', '--json'], { env });
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, pruned_through_seq: before.at(-1)!.seq });
    const nothing = await runCliInProcess(['audit', 'prune', '--older-than', '365d', '--json'], { env });
    expect(JSON.parse(nothing.stdout)).toMatchObject({ pruned: 0 });
    expect(await entries()).toHaveLength(1);
  });
});
