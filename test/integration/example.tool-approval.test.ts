/**
 * The example project's tool-approval workflow (examples/flows/workflows/tool-approval.yaml)
 * runs as its comments say: opened as the CLI opens it (its own stdio MCP server, the scripted
 * mock model), on a store in a temporary directory so the example folder stays clean.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openAgentry, type Agentry } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/obs/logger.js';
import { REPO } from '../fixtures/agents/project.js';
import { ADMIN } from '../helpers/agent-engine.js';
import { openTask } from '../helpers/engine.js';
import { tempDir } from '../helpers/store.js';

const PROJECT = `${REPO}/examples/flows`;
const INPUT = { order_id: 'A-1001', reason: 'arrived damaged' };

let agentry: Agentry | undefined;
let temp: { remove: () => void } | undefined;

afterEach(async () => {
  await agentry?.close();
  temp?.remove();
  agentry = temp = undefined;
});

async function open(): Promise<Agentry> {
  const dir = tempDir('agentry-flows-');
  temp = dir;
  const env = { AGENTRY_DATABASE_URL: `sqlite:${dir.dir}/agentry.db`, AGENTRY_POLL_INTERVAL: '50ms', AGENTRY_LEASE_TTL: '2s' };
  const config = loadConfig({ flags: { projectDir: PROJECT }, env, cwd: PROJECT });
  agentry = await openAgentry(config, { logger: createLogger({ level: 'silent' }), env });
  await agentry.engine.start();
  return agentry;
}

describe('example: workflows/tool-approval.yaml', { timeout: 60_000 }, () => {
  it('waits for approval of the refund call, then issues the refund and finishes', async () => {
    const a = await open();
    const run = await a.engine.startRun('tool-approval', INPUT);

    const task = await openTask(a.engine, run.id);
    expect(task.context).toMatchObject({
      server: 'payments',
      tool: 'issue_refund',
      arguments: { order_id: 'A-1001', amount_cents: 4200 },
      agent: 'refunder',
      turn: 2,
    });
    await a.engine.completeTask(task.id, { decision: 'approve' }, ADMIN);
    const done = await a.engine.waitForRun(run.id, { timeoutMs: 30_000, pollMs: 50 });

    expect(done.status).toBe('succeeded');
    expect(done.output).toMatchObject({ order: 'A-1001' });
    const journal = new Map((await a.store.loadJournal(run.id, 'refund')).map((e) => [e.key, e.data]));
    expect(JSON.parse(journal.get('tool:2:call_2_0') as string)).toMatchObject({ refund_id: 'rf_A-1001', status: 'issued' });
  });

  it('on a rejection, tells the agent the refund was refused and still finishes (on_reject: recover)', async () => {
    const a = await open();
    const run = await a.engine.startRun('tool-approval', INPUT);

    const task = await openTask(a.engine, run.id);
    await a.engine.completeTask(task.id, { decision: 'reject', comment: 'needs a photo of the damage' }, ADMIN);
    const done = await a.engine.waitForRun(run.id, { timeoutMs: 30_000, pollMs: 50 });

    expect(done.status).toBe('succeeded');
    const journal = new Map((await a.store.loadJournal(run.id, 'refund')).map((e) => [e.key, e.data]));
    expect(journal.get('tool:2:call_2_0')).toContain('needs a photo of the damage');
    expect(journal.get('tool:2:call_2_0')).toContain('[tool_rejected]');
  });
});
