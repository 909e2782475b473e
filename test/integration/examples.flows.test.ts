/**
 * The example project examples/flows (docs/workflows.md, docs/human-tasks.md): every spec
 * loads without an error, and every workflow runs to the end its comments promise. The
 * project is opened as the CLI opens it (`openAgentry`: its own tool servers, the scripted
 * mock model) on a SQLite store in a temporary directory, so the example folder stays clean.
 * A driver per case gives the input and plays the people and webhooks (deciding tasks,
 * sending signals); every workflow of the project must have at least one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AVAILABLE_KINDS, openAgentry, type Agentry } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import type { Actor } from '../../src/engine/tasks-api.js';
import { createLogger } from '../../src/obs/logger.js';
import { loadProject } from '../../src/app/project.js';
import { formatDiagnostic } from '../../src/spec/index.js';
import type { RunRecord, RunStatus } from '../../src/types.js';
import { REPO } from '../fixtures/agents/project.js';
import { eventsOf, eventually, openTask } from '../helpers/engine.js';
import { tempDir } from '../helpers/store.js';

const PROJECT = `${REPO}/examples/flows`;
const PERSON: Actor = { name: 'test', roles: ['admin'] };

interface Driver {
  /** What the case shows (the test's name). */
  name: string;
  workflow: string;
  /** The run input, or a function reading it from the project (a schedule's input). */
  input: unknown;
  /** Extra environment of the engine (what `{{ env.* }}` reads). */
  env?: Record<string, string>;
  /** What a person or another system does while the run goes. */
  act?: (a: Agentry, run: RunRecord) => Promise<void>;
  status: RunStatus;
  /** Matched with toMatchObject against the run's output (succeeded) or error (otherwise). */
  result?: unknown;
  /** Further checks on the ended run. */
  check?: (a: Agentry, run: RunRecord) => Promise<void>;
}

/** Waits until the run is parked (`waiting`): what it waits on has started. */
async function waiting(a: Agentry, run: RunRecord): Promise<void> {
  await eventually(async () => ((await a.engine.getRun(run.id)).status === 'waiting' ? true : undefined), 20_000, `run ${run.id} waiting`);
}

async function decide(a: Agentry, run: RunRecord, decision: 'approve' | 'reject' | 'submit', extra: { data?: unknown; comment?: string } = {}): Promise<void> {
  const task = await openTask(a.engine, run.id);
  await a.engine.completeTask(task.id, { decision, ...extra }, PERSON);
}

const CLAIM = { employee: 'ada', amount_eur: 120, purpose: 'team dinner' };
const PAID = { status: 'paid', reference: 'psp_7731', amount_cents: 4200 };
const LINES = [
  { sku: 'tea', qty: 2, unit_cents: 450 },
  { sku: 'mug', qty: 1, unit_cents: 1200 },
  { sku: 'gift card', qty: 1 },
];

const DRIVERS: Driver[] = [
  {
    name: 'approval: a submitted form pays the amount the reviewer entered',
    workflow: 'approval',
    input: CLAIM,
    act: async (a, run) => {
      const task = await openTask(a.engine, run.id);
      expect(task).toMatchObject({ kind: 'human', role: 'reviewer', title: 'Expense claim of ada: 120 EUR for team dinner', context: CLAIM });
      expect(task.dueAt).not.toBeNull();
      // Data that does not match the form is refused and changes nothing.
      await expect(a.engine.completeTask(task.id, { decision: 'submit', data: { approved_eur: 'a lot' } }, PERSON)).rejects.toMatchObject({
        code: 'invalid_request',
      });
      expect(await a.engine.getTask(task.id)).toMatchObject({ status: 'open' });
      await a.engine.completeTask(task.id, { decision: 'submit', data: { approved_eur: 100, note: 'drinks are not covered' } }, PERSON);
    },
    status: 'succeeded',
    result: { decision: 'submit', paid_eur: 100, message: 'paid' },
    check: async (a, run) => {
      const { steps } = await a.engine.getRunWithSteps(run.id);
      expect(Object.fromEntries(steps.map((s) => [s.stepId, s.status]))).toEqual({
        review: 'succeeded',
        pay: 'succeeded',
        decline: 'skipped',
        chase: 'skipped',
      });
      expect(steps.find((s) => s.stepId === 'pay')?.output).toMatchObject({ amount_eur: 100, note: 'drinks are not covered', approved_by: 'test' });
    },
  },
  {
    name: 'approval: an approval pays the full claim',
    workflow: 'approval',
    input: CLAIM,
    act: (a, run) => decide(a, run, 'approve'),
    status: 'succeeded',
    result: { decision: 'approve', paid_eur: 120, message: 'paid' },
  },
  {
    name: 'approval: a reject (on_reject: continue) takes the decline branch with the comment',
    workflow: 'approval',
    input: CLAIM,
    act: (a, run) => decide(a, run, 'reject', { comment: 'not a business expense' }),
    status: 'succeeded',
    result: { decision: 'reject', paid_eur: 0, message: 'Your claim for team dinner was declined by test: not a business expense' },
  },
  {
    name: 'wait-for-payment: the payment signal resumes the waiting run, which ships',
    workflow: 'wait-for-payment',
    input: { order_id: 'A-1001', amount_cents: 4200 },
    act: async (a, run) => {
      await waiting(a, run);
      expect(await a.engine.sendSignal(run.id, 'payment', PAID)).toMatchObject({ duplicate: false });
    },
    status: 'succeeded',
    result: { order_id: 'A-1001', status: 'shipped', reference: 'psp_7731' },
    // A webhook retried after the run ended is still answered as a repeat.
    check: async (a, run) => expect(await a.engine.sendSignal(run.id, 'payment', PAID)).toMatchObject({ duplicate: true }),
  },
  {
    name: 'wait-for-payment: a signal sent at once is kept until the step waits; a repeat changes nothing',
    workflow: 'wait-for-payment',
    input: { order_id: 'A-1002', amount_cents: 990 },
    act: async (a, run) => {
      expect(await a.engine.sendSignal(run.id, 'payment', { status: 'failed' })).toMatchObject({ duplicate: false });
      // A repeat is answered as one (also once the run has ended); another payload is a conflict.
      expect(await a.engine.sendSignal(run.id, 'payment', { status: 'failed' })).toMatchObject({ duplicate: true });
      await expect(a.engine.sendSignal(run.id, 'payment', PAID)).rejects.toMatchObject({ code: 'conflict' });
    },
    status: 'succeeded',
    result: { order_id: 'A-1002', status: 'cancelled', reason: 'no payment (payment status: failed)' },
  },
  {
    name: 'fan-out: prices every line, one bad line tolerated (null in its place)',
    workflow: 'fan-out',
    input: { lines: LINES },
    status: 'succeeded',
    result: {
      priced: 2,
      unpriced: 1,
      lines: [{ line: 1, sku: 'tea', total_cents: 900 }, { line: 2, sku: 'mug', total_cents: 1200 }, null],
    },
    check: async (a, run) => {
      const items = await a.store.listItems(run.id, 'price');
      expect(items.map((s) => [s.stepId, s.status])).toEqual([
        ['price[0]', 'succeeded'],
        ['price[1]', 'succeeded'],
        ['price[2]', 'failed'],
      ]);
    },
  },
  {
    name: 'fan-out: a second bad line fails the step with map_failed',
    workflow: 'fan-out',
    input: { lines: [...LINES, { sku: 'voucher', qty: 3 }] },
    status: 'failed',
    result: { code: 'map_failed', details: { failed: [2, 3] } },
  },
  {
    name: 'onboarding: the account comes from a create-account child run, linked both ways',
    workflow: 'onboarding',
    input: { name: 'Ada Lovelace', email: 'Ada@Example.com', team: 'platform' },
    status: 'succeeded',
    result: { account_id: 'acct_ada', message: 'Welcome to team platform, Ada Lovelace! Sign in as ada@example.com.' },
    check: async (a, run) => {
      const children = await a.engine.childRuns(run.id);
      expect(children).toHaveLength(1);
      expect(children[0]).toMatchObject({ workflow: 'create-account', status: 'succeeded', parentRunId: run.id, parentStepId: 'account' });
    },
  },
  {
    name: "onboarding: an address the child's input schema refuses fails the step, no child starts",
    workflow: 'onboarding',
    input: { name: 'Bob', email: 'not-an-address', team: 'platform' },
    status: 'failed',
    result: { code: 'input_invalid' },
    check: async (a, run) => expect(await a.engine.childRuns(run.id)).toEqual([]),
  },
  {
    name: 'create-account: runs on its own too',
    workflow: 'create-account',
    input: { email: 'Grace@Example.com', name: 'Grace Hopper' },
    status: 'succeeded',
    result: { account_id: 'acct_grace', email: 'grace@example.com', display_name: 'Grace Hopper' },
  },
  {
    name: 'per-customer: a second run of the same customer waits for the first (run.blocked)',
    workflow: 'per-customer',
    input: { customer_id: 'acme', invoices: 3 },
    act: async (a, first) => {
      const second = await a.engine.startRun('per-customer', { customer_id: 'acme', invoices: 5 });
      const [one, two] = [await a.engine.waitForRun(first.id, { timeoutMs: 30_000 }), await a.engine.waitForRun(second.id, { timeoutMs: 30_000 })];
      expect([one.status, two.status]).toEqual(['succeeded', 'succeeded']);
      expect(one.concurrencyKey).toBe('per-customer:acme');
      // Whichever was claimed second was blocked, and started only once the other had ended.
      const [earlier, later] = one.startedAt! <= two.startedAt! ? [one, two] : [two, one];
      expect(later.startedAt!).toBeGreaterThanOrEqual(earlier.finishedAt!);
      expect((await eventsOf(a.store, later.id)).some((e) => e.type === 'run.blocked')).toBe(true);
    },
    status: 'succeeded',
    result: { customer_id: 'acme', synced: 3 },
  },
  {
    name: 'nightly-report: a run with its schedule input builds the report',
    workflow: 'nightly-report',
    input: (project: NonNullable<Agentry['project']>) => (project.workflows.get('nightly-report')?.spec.schedule as { input: unknown }).input,
    status: 'succeeded',
    result: { title: 'Morning report of platform', summary: '1 of 3 done', open: ['Upgrade PostgreSQL', 'Write the runbook'] },
  },
  {
    name: 'weekly-report: the agent stores its report as the run artifact out/report.md',
    workflow: 'weekly-report',
    input: { team: 'platform', done: ['Rotate the API keys'] },
    status: 'succeeded',
    result: 'The weekly report is stored as out/report.md.',
    check: async (a, run) => {
      const stored = await a.store.artifacts.read(run.id, 'out/report.md');
      expect(stored?.record).toMatchObject({ stepId: 'write', contentType: 'text/markdown' });
      expect(stored?.content.toString()).toBe('# Weekly report: platform\n\n- Rotate the API keys\n');
    },
  },
  {
    name: 'rerun-demo: without PUBLISH_CHANNEL it fails at publish, as its comments say',
    workflow: 'rerun-demo',
    input: { topic: 'durable execution' },
    status: 'failed',
    result: { code: 'output_invalid' },
  },
  {
    name: 'rerun-demo: with a channel it publishes',
    workflow: 'rerun-demo',
    input: { topic: 'durable execution' },
    env: { PUBLISH_CHANNEL: 'engineering' },
    status: 'succeeded',
    result: { notice: "Published 'Notes on durable execution' in #engineering" },
  },
  {
    name: 'tool-approval: an approved refund call is made and the agent finishes',
    workflow: 'tool-approval',
    input: { order_id: 'A-1001', reason: 'arrived damaged' },
    act: async (a, run) => {
      const task = await openTask(a.engine, run.id);
      expect(task.kind).toBe('tool_approval');
      await a.engine.completeTask(task.id, { decision: 'approve' }, PERSON);
    },
    status: 'succeeded',
    result: { order: 'A-1001' },
  },
  {
    name: 'triage-review: an unsure answer waits for review; the reviewer corrects it',
    workflow: 'triage-review',
    input: { ticket: 'Dashboard sometimes slow since Monday' },
    act: async (a, run) => {
      const task = await openTask(a.engine, run.id);
      expect(task).toMatchObject({ kind: 'review', context: { confidence: 0.42, threshold: 0.7, output: { severity: 'high' } } });
      await a.engine.completeTask(task.id, { decision: 'submit', data: { output: { severity: 'low', summary: 'Known slow report' } } }, PERSON);
    },
    status: 'succeeded',
    result: { queue: 'backlog', summary: 'Known slow report' },
  },
  {
    name: 'triage-review: an approved answer is kept',
    workflow: 'triage-review',
    input: { ticket: 'Dashboard sometimes slow since Monday' },
    act: (a, run) => decide(a, run, 'approve'),
    status: 'succeeded',
    result: { queue: 'on-call', summary: 'Dashboard slowness may be an outage' },
  },
];

let agentry: Agentry | undefined;
let temp: { remove: () => void } | undefined;

afterEach(async () => {
  await agentry?.close();
  temp?.remove();
  agentry = temp = undefined;
});

async function open(extraEnv: Record<string, string> = {}): Promise<Agentry> {
  const dir = tempDir('agentry-flows-');
  temp = dir;
  const env = {
    AGENTRY_DATABASE_URL: `sqlite:${dir.dir}/agentry.db`,
    AGENTRY_POLL_INTERVAL: '50ms',
    AGENTRY_LEASE_TTL: '2s',
    ...extraEnv,
  };
  const config = loadConfig({ flags: { projectDir: PROJECT }, env, cwd: PROJECT });
  agentry = await openAgentry(config, { logger: createLogger({ level: 'silent' }), env });
  await agentry.engine.start();
  return agentry;
}

describe('examples/flows', { timeout: 60_000 }, () => {
  it('loads without an error or a warning, and every workflow has a driver here', async () => {
    const { project, diagnostics } = await loadProject(PROJECT, { availableKinds: AVAILABLE_KINDS, env: {} });
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    const driven = new Set(DRIVERS.map((d) => d.workflow));
    expect([...project.workflows.keys()].filter((name) => !driven.has(name))).toEqual([]);
  });

  for (const driver of DRIVERS) {
    it(driver.name, async () => {
      const a = await open(driver.env);
      const input = typeof driver.input === 'function' ? (driver.input as (p: NonNullable<Agentry['project']>) => unknown)(a.project!) : driver.input;
      const run = await a.engine.startRun(driver.workflow, input);
      await driver.act?.(a, run);
      const done = await a.engine.waitForRun(run.id, { timeoutMs: 30_000, pollMs: 50 });
      expect(done.status).toBe(driver.status);
      if (driver.result !== undefined) {
        if (driver.status === 'succeeded') expect(done.output).toMatchObject(driver.result as object);
        else expect(done.error).toMatchObject(driver.result as object);
      }
      await driver.check?.(a, done);
    });
  }
});
