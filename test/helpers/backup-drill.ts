/**
 * The backup drill (issue 16): runs in flight on a live store, a backup taken mid-load by
 * `agentry backup`, restores into fresh stores, and what must then hold — every run committed
 * before the backup is there with all its events (a consistent snapshot), and every run of the
 * backup finishes on the restored store, each step that had not succeeded in the backup done
 * exactly once there, none that had succeeded done again.
 *
 * The workflow's `call` step posts to a ledger under a prefix naming the store that runs it
 * (`LEDGER_URL=<ledger>/<prefix>`; steps render it per attempt from their process's
 * environment), so the ledger tells which store's workers made each call. The first `held`
 * calls of the live store are held unanswered: their steps are `running`, under lease, in the
 * backup.
 */
import type { ServerResponse } from 'node:http';
import { expect } from 'vitest';
import { queryAt } from './backup.js';
import { json, startServer, type TestServer } from './http-server.js';

export const DRILL_WORKFLOW = {
  name: 'drill',
  env: { LEDGER_URL: {} },
  input: { schema: { type: 'object', properties: { n: { type: 'integer' } } } },
  steps: {
    a: { transform: { n: '{{ input.n }}', text: 'run №{{ input.n }} ✓' } },
    nap: { needs: ['a'], sleep: '1500ms' },
    call: {
      needs: ['nap'],
      http: { url: '{{ env.LEDGER_URL }}/append', method: 'POST', body: { run: '{{ run.id }}', step: 'call' } },
      retry: { max_attempts: 5, initial: '100ms', max: '500ms' },
    },
    b: { needs: ['call'], transform: '{{ steps.a.output.n }}' },
  },
  output: '{{ steps.b.output }}',
};

export interface Ledger {
  server: TestServer;
  /** Run ids whose `call` reached the ledger from the store of `prefix`, in order. */
  callsOf(prefix: string): string[];
  /** Run ids of the calls being held. */
  held: string[];
  /** Answers the held calls (if their caller is still there) and holds no more. */
  release(): void;
  close(): Promise<void>;
}

export async function startLedger(holdPrefix: string, hold: number): Promise<Ledger> {
  const calls = new Map<string, string[]>();
  const held: string[] = [];
  const waiting: ServerResponse[] = [];
  let holding = true;
  const server = await startServer((req, res, body) => {
    const prefix = (req.url ?? '').split('/')[1] ?? '';
    const { run } = JSON.parse(body) as { run: string };
    calls.set(prefix, [...(calls.get(prefix) ?? []), run]);
    if (holding && prefix === holdPrefix && held.length < hold) {
      held.push(run);
      waiting.push(res);
      return;
    }
    json(res, 200, { ok: true });
  });
  return {
    server,
    callsOf: (prefix) => [...(calls.get(prefix) ?? [])],
    held,
    release() {
      holding = false;
      for (const res of waiting.splice(0)) if (!res.destroyed) json(res, 200, { ok: true });
    },
    close: () => server.close(),
  };
}

const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed_out'];
const TERMINAL = `(${TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/** Waits until the store at `url` has `expected` runs, all ended; returns their statuses. */
export async function waitForAllEnded(url: string, expected: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await queryAt(url, `SELECT status, count(*) AS n FROM runs GROUP BY status`);
    const counts = Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const ended = Object.entries(counts).reduce((n, [status, count]) => n + (TERMINAL_STATUSES.includes(status) ? count : 0), 0);
    if (total === expected && ended === expected) return counts;
    if (Date.now() > deadline) {
      const stuck = await queryAt(
        url,
        `SELECT s.run_id, s.step_id, s.status, s.attempt, s.lease_owner, s.available_at FROM steps s JOIN runs r ON r.id = s.run_id
         WHERE r.status NOT IN ${TERMINAL} AND s.status NOT IN ('succeeded', 'pending') LIMIT 5`,
      );
      throw new Error(`runs of ${url} did not end in time: ${JSON.stringify(counts)}; unfinished steps: ${JSON.stringify(stuck)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface EventRow {
  run_id: string;
  seq: number;
  type: string;
  step_id: string | null;
  data: string;
}

async function eventsByRun(url: string): Promise<Map<string, EventRow[]>> {
  const rows = (await queryAt(url, `SELECT run_id, seq, type, step_id, data FROM events ORDER BY run_id, seq`)) as unknown as EventRow[];
  const byRun = new Map<string, EventRow[]>();
  for (const row of rows) byRun.set(row.run_id, [...(byRun.get(row.run_id) ?? []), { ...row, seq: Number(row.seq) }]);
  return byRun;
}

/**
 * What a restore taken from a live store must hold: the runs the backup's summary counted, among
 * them every run in `committedBefore`; each run's events numbered 1..event_seq without a gap,
 * and the same as the first events of that run in the source (`sourceUrl`, read after the
 * source stopped): a snapshot, never a mix of two moments.
 */
export async function expectConsistentSnapshot(
  restoredUrl: string,
  sourceUrl: string,
  committedBefore: readonly string[],
  backupCounts: Record<string, number>,
): Promise<void> {
  const runs = await queryAt(restoredUrl, `SELECT id, event_seq FROM runs`);
  expect(runs.length).toBe(backupCounts.runs);
  const ids = new Set(runs.map((r) => String(r.id)));
  expect(
    committedBefore.filter((id) => !ids.has(id)),
    'runs committed before the backup missing from it',
  ).toEqual([]);
  const restored = await eventsByRun(restoredUrl);
  const source = await eventsByRun(sourceUrl);
  expect([...restored.values()].reduce((n, events) => n + events.length, 0)).toBe(backupCounts.events);
  for (const run of runs) {
    const id = String(run.id);
    const events = restored.get(id) ?? [];
    expect(
      events.map((e) => e.seq),
      `events of ${id}`,
    ).toEqual(Array.from({ length: Number(run.event_seq) }, (_, i) => i + 1));
    expect(events, `events of ${id} are the first ones of the source`).toEqual((source.get(id) ?? []).slice(0, events.length));
  }
}

/** Run ids whose `call` step had not succeeded in the restored store (before any worker ran on it). */
export async function unfinishedCalls(url: string): Promise<string[]> {
  return (await queryAt(url, `SELECT run_id FROM steps WHERE step_id = 'call' AND status <> 'succeeded' ORDER BY run_id`)).map((r) => String(r.run_id));
}

/** Run ids of `call` steps that are `running` in the store. */
export async function runningCalls(url: string): Promise<string[]> {
  return (await queryAt(url, `SELECT run_id FROM steps WHERE step_id = 'call' AND status = 'running' ORDER BY run_id`)).map((r) => String(r.run_id));
}

/**
 * After a restored store's runs all ended: all succeeded, and its workers called the ledger
 * exactly once for each `call` that had not succeeded in the backup, and never for one that had.
 */
export async function expectFinishedExactlyOnce(
  url: string,
  expectedRuns: number,
  pending: readonly string[],
  calls: () => readonly string[],
  held: readonly string[],
): Promise<void> {
  const counts = await waitForAllEnded(url, expectedRuns, 60_000);
  expect(counts).toEqual({ succeeded: expectedRuns });
  expect([...calls()].sort()).toEqual([...pending].sort());
  // The held calls were running, under lease, at the backup: each lapsed and ran again as attempt 2.
  const lapsed = await queryAt(url, `SELECT run_id, attempt, status FROM attempts WHERE step_id = 'call' AND status <> 'succeeded' ORDER BY run_id`);
  for (const run of held) expect(lapsed).toContainEqual({ run_id: run, attempt: 1, status: 'lease_expired' });
}
