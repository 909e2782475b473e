/**
 * `agentry run` and `agentry runs …` on the example project. A run with --wait, the queued run
 * a separate worker process executes and `runs list` run as the real binary; the other commands,
 * whose output and exit code are what is checked, run in this process (`runCliInProcess`).
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFlakyServer, type FlakyServer } from '../../src/cli/flaky-server.js';
import type { EventDto, RunDetailDto, RunDto } from '../../src/cli/remote.js';
import { dbFile, exampleProject, killAll, removeDir, runCli, runCliInProcess, startCli, waitForOutput } from '../helpers/cli.js';

let project: string;
let upstream: FlakyServer;

beforeEach(async () => {
  project = exampleProject();
  upstream = await startFlakyServer();
});

afterEach(async () => {
  await killAll();
  await upstream.close();
  removeDir(project);
});

function indexOf(events: EventDto[], type: string, stepId: string | null = null, from = 0): number {
  return events.findIndex((e, i) => i >= from && e.type === type && e.step_id === stepId);
}

describe('agentry run --wait', { timeout: 60_000 }, () => {
  it('runs the welcome workflow to success and its events tell the whole story in order', async () => {
    const env = { DEMO_API_URL: upstream.url };
    const result = await runCli(['run', 'welcome', '--input', '{"name":"Grace Hopper"}', '--wait', '--json', '--dir', project], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const run = JSON.parse(result.stdout) as RunDetailDto;
    expect(run.status).toBe('succeeded');
    // The API's RunDetail: snake_case, ISO times, steps in the workflow's order.
    expect(run.finished_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(run.steps.map((st) => st.id)).toEqual(['normalize', 'profile', 'theme', 'buddy', 'perks', 'pause', 'message']);
    expect(run.steps.find((st) => st.id === 'profile')).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(run.output).toMatchObject({ member: 'Grace Hopper', perks: 'none' });
    expect((run.output as { message: string }).message).toContain('Welcome, Grace!');
    expect(upstream.log).toEqual(['503 Grace Hopper', '200 Grace Hopper']);

    const listed = await runCliInProcess(['runs', 'events', run.id, '--json', '--dir', project]);
    expect(listed.code).toBe(0);
    const events = JSON.parse(listed.stdout) as EventDto[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('run.created');
    expect(events.at(-1)?.type).toBe('run.succeeded');

    // Every step that ran was started before it succeeded.
    for (const step of ['normalize', 'profile', 'theme', 'pause', 'message']) {
      const started = indexOf(events, 'step.started', step);
      expect(started, `${step} started`).toBeGreaterThan(0);
      expect(indexOf(events, 'step.succeeded', step), `${step} succeeded`).toBeGreaterThan(started);
    }
    // The flaky call failed once, was retried, and succeeded on attempt 2.
    const retry = indexOf(events, 'step.retry_scheduled', 'profile');
    expect(retry).toBeGreaterThan(indexOf(events, 'step.started', 'profile'));
    expect(events[retry]?.data).toMatchObject({ attempt: 1, next_attempt: 2, error: { code: 'http_status' } });
    const secondStart = indexOf(events, 'step.started', 'profile', retry);
    expect(events[secondStart]?.data).toMatchObject({ attempt: 2 });
    expect(indexOf(events, 'step.succeeded', 'profile')).toBeGreaterThan(secondStart);
    // The condition skipped `perks` (no VIP), and nothing of it ran.
    expect(indexOf(events, 'step.skipped', 'perks')).toBeGreaterThan(indexOf(events, 'step.succeeded', 'profile'));
    expect(indexOf(events, 'step.started', 'perks')).toBe(-1);
    // The sleep went through a durable timer.
    expect(indexOf(events, 'step.waiting', 'pause')).toBeGreaterThan(indexOf(events, 'step.started', 'pause'));
    // Dependants started only after their dependencies were done.
    const done = (step: string) => Math.max(indexOf(events, 'step.succeeded', step), indexOf(events, 'step.skipped', step));
    const needs: Record<string, string[]> = {
      profile: ['normalize'],
      theme: ['normalize'],
      pause: ['profile', 'theme'],
      message: ['pause', 'perks'],
    };
    for (const [step, deps] of Object.entries(needs)) {
      for (const dep of deps) expect(indexOf(events, 'step.started', step), `${step} after ${dep}`).toBeGreaterThan(done(dep));
    }
    expect(done('message')).toBeLessThan(events.length - 1);
  });

  it('prints one line per event and a "where to look" hint when stdout is not a terminal', async () => {
    const env = { DEMO_API_URL: upstream.url };
    const result = await runCliInProcess(['run', 'welcome', '--input', '{"name":"Ada","vip":true}', '--wait', '--dir', project], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/step\.retry_scheduled\s+profile/);
    expect(result.stdout).toMatch(/step\.succeeded\s+perks/);
    expect(result.stdout).toMatch(/Run run_\w+ succeeded/);
    expect(result.stdout).toContain('lounge access and 100 credits');
    expect(result.stdout).toMatch(/agentry runs get run_\w+ --dir /);
    expect(result.stdout).toMatch(/agentry runs events run_\w+ --dir /);
  });

  it('exits 1 with the error when the run fails', async () => {
    // Port 1 refuses connections: the profile step uses its 3 attempts and the run fails.
    const result = await runCliInProcess(['run', 'welcome', '--input', '{"name":"Ada"}', '--wait', '--json', '--dir', project], {
      env: { DEMO_API_URL: 'http://127.0.0.1:1' },
    });
    expect(result.code).toBe(1);
    const run = JSON.parse(result.stdout) as RunDetailDto;
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBeDefined();
  });
});

describe('agentry run without --wait and agentry start worker', { timeout: 60_000 }, () => {
  it('queues a run that a separate worker process executes, and the worker stops cleanly on SIGTERM', async () => {
    const started = await runCli(['run', 'hello', '--input', '{"name":"Ada"}', '--json', '--dir', project]);
    expect(started.code).toBe(0);
    const queued = JSON.parse(started.stdout) as RunDto;
    expect(queued.status).toBe('queued');

    const worker = startCli(['start', 'worker', '--dir', project, '--concurrency', '2']);
    await waitForOutput(worker, (stderr) => stderr.includes('worker+scheduler ready: '));
    const ready = JSON.parse(worker.stderr.split('\n').find((line) => line.includes('worker+scheduler ready: ')) ?? '{}') as Record<string, unknown>;
    expect(ready).toMatchObject({ level: 'info', store: `sqlite:${dbFile(project)}` });
    expect(ready.worker).toMatch(/^wrk_/);

    const db = new Database(dbFile(project), { readonly: true });
    try {
      const status = () => (db.prepare('SELECT status FROM runs WHERE id = ?').get(queued.id) as { status: string }).status;
      while (!['succeeded', 'failed'].includes(status())) await new Promise((r) => setTimeout(r, 100));
      expect(status()).toBe('succeeded');
    } finally {
      db.close();
    }
    worker.child.kill('SIGTERM');
    const exited = await worker.done;
    expect(exited.code).toBe(0);
    expect(exited.stdout).toBe('');
  });

  it('lists, shows and cancels a queued run', async () => {
    const started = await runCliInProcess(['run', 'hello', '--input', '{"name":"Ada"}', '--priority', '-5', '--dir', project]);
    expect(started.code).toBe(0);
    const id = /Started run (run_\w+)/.exec(started.stdout)?.[1] ?? '';
    expect(started.stdout).toContain('start worker');

    const listed = await runCli(['runs', 'list', '--status', 'queued', '--json', '--dir', project]);
    const page = JSON.parse(listed.stdout) as { items: RunDto[]; next_cursor: string | null };
    expect(page.items.map((r) => r.id)).toEqual([id]);
    expect(page.items[0]!.priority).toBe(-5);
    expect(page.next_cursor).toBeNull();
    const shown = await runCliInProcess(['runs', 'get', id, '--dir', project]);
    expect(shown.stdout).toMatch(/STEP\s+KIND\s+STATUS/);
    expect(shown.stdout).toMatch(/greet\s+transform\s+○ queued/);

    const cancelled = await runCliInProcess(['runs', 'cancel', id, '--json', '--dir', project]);
    expect(cancelled.code).toBe(0);
    expect((JSON.parse(cancelled.stdout) as RunDto).status).toBe('cancelled');
    const events = JSON.parse((await runCliInProcess(['runs', 'events', id, '--json', '--after', '1', '--dir', project])).stdout) as EventDto[];
    expect(events[0]?.seq).toBe(2);
    expect(events.at(-1)?.type).toBe('run.cancelled');

    // Following an ended run prints its events once and stops at the terminal one; a local
    // retry starts a new run of the same workflow with the same input, and says so.
    const [followed, retried, human] = await Promise.all([
      runCliInProcess(['runs', 'events', id, '--follow', '--json', '--dir', project]),
      runCliInProcess(['runs', 'retry', id, '--json', '--dir', project]),
      runCliInProcess(['runs', 'retry', id, '--dir', project]),
    ]);
    expect(followed.code).toBe(0);
    const lines = followed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventDto);
    expect(lines.map((e) => e.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.at(-1)?.type).toBe('run.cancelled');
    expect(retried.code).toBe(0);
    const retry = JSON.parse(retried.stdout) as RunDto & { retry_of: string };
    expect(retry).toMatchObject({ retry_of: id, workflow: 'hello', status: 'queued', input: { name: 'Ada' } });
    expect(retry.id).not.toBe(id);
    expect(human.stdout).toMatch(new RegExp(`Retried run ${id} as run run_\\w+ \\(queued\\), locally`));
  });
});
