/**
 * The fleet's tool switch: two processes' worth of Agentry (each its own tool hub and its own
 * connection to the fixture MCP server) on one database, SQLite and PostgreSQL. A disable made
 * through one reaches the other within 5 s (the promise of docs/tools.md), a process opened
 * later starts with it, a single tool can be switched, the audit log records it, and callers of
 * another tenant than the deployment's cannot touch it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agentry } from '../../src/app/bootstrap.js';
import type { Caller } from '../../src/app/caller.js';
import { createServices } from '../../src/app/services.js';
import { fakeGateway, openProject, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { fixtureToolSpec } from '../helpers/server.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

/** How soon every process must follow a switch (docs/tools.md). */
const PROPAGATION_MS = 5_000;

const OPERATOR: Caller = { name: 'ops-key', roles: ['operator'], tenantId: 'default', runAccess: { read: 'all', write: 'all' } };
const OTHER_TENANT: Caller = { name: 'acme-ops', roles: ['operator'], tenantId: 'acme', runAccess: { read: 'all', write: 'all' } };

const opened: Agentry[] = [];
let project: TempProject | undefined;
let dropDb: (() => Promise<void>) | undefined;

afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
  project?.remove();
  await dropDb?.();
  project = dropDb = undefined;
});

const stores = [{ name: 'sqlite' }, ...(hasPostgres ? [{ name: 'postgres' }] : [])];

describe.each(stores)('the tool switch on $name', { timeout: 120_000 }, ({ name }) => {
  async function processes(): Promise<() => Promise<Agentry>> {
    project = writeProject({
      gateway: fakeGateway('http://127.0.0.1:9'),
      agents: [],
      tools: [fixtureToolSpec('fx')],
      workflows: [{ name: 'lookup', steps: { call: { tool: { server: 'fx', name: 'echo', args: { text: 'hi' } } } } }],
    });
    const env: Record<string, string> = {};
    if (name === 'postgres') {
      const db = await createTestDatabase();
      dropDb = db.drop;
      env.AGENTRY_DATABASE_URL = db.url;
    }
    const p = project;
    return async () => {
      const agentry = await openProject(p, { env });
      opened.push(agentry);
      return agentry;
    };
  }

  it('disables a server through one process; the other refuses its calls within 5 s, a process opened later too, and enabling reaches both', async () => {
    const open = await processes();
    const [a, b] = [await open(), await open()];
    await expect(b.tools!.callTool('fx', 'echo', { text: 'before' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'before' }] });

    const status = await createServices(a).tools.disable(OPERATOR, 'fx', 'returns wrong balances, INC-231');
    expect(status).toMatchObject({ name: 'fx', state: 'disabled', disabled_reason: 'returns wrong balances, INC-231' });
    await expect.poll(() => b.tools!.status()[0]!.state, { timeout: PROPAGATION_MS, interval: 100 }).toBe('disabled');
    await expect(b.tools!.callTool('fx', 'echo', { text: 'after' })).rejects.toMatchObject({
      code: 'tool_disabled',
      message: expect.stringContaining('returns wrong balances, INC-231'),
    });
    // A tool step on the other process fails with it.
    const run = await b.engine.startRun('lookup', {});
    const ended = await b.engine.waitForRun(run.id, { timeoutMs: 20_000, pollMs: 50 });
    expect(ended.status).toBe('failed');
    expect(ended.error).toMatchObject({ code: 'tool_disabled' });

    // A process started after the switch has it before its first call.
    const c = await open();
    expect(c.tools!.status()[0]).toMatchObject({ state: 'disabled', disabled_reason: 'returns wrong balances, INC-231' });

    const audit = await createServices(a).audit.list(OPERATOR, { limit: 50 });
    expect(audit.items.find((e) => e.action === 'tool.disable')).toMatchObject({
      target: 'tool:fx',
      outcome: 'success',
      principal: 'ops-key',
      details: { reason: 'returns wrong balances, INC-231' },
    });

    await createServices(c).tools.enable(OPERATOR, 'fx');
    for (const other of [a, b]) await expect.poll(() => other.tools!.status()[0]!.state, { timeout: PROPAGATION_MS, interval: 100 }).not.toBe('disabled');
    await expect(b.tools!.callTool('fx', 'echo', { text: 'again' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'again' }] });
    expect((await createServices(a).audit.list(OPERATOR, { limit: 50 })).items.find((e) => e.action === 'tool.enable')).toMatchObject({
      target: 'tool:fx',
      details: { was_disabled: true, reason: 'returns wrong balances, INC-231' },
    });
  });

  it('disables one tool of a server: the others still answer, agents are not offered it, and GET /v1/tools shows it', async () => {
    const open = await processes();
    const [a, b] = [await open(), await open()];
    await createServices(a).tools.disable(OPERATOR, 'fx.add', 'adds wrong');
    await expect.poll(() => b.tools!.toolStatus('fx').find((t) => t.name === 'add')?.disabled, { timeout: PROPAGATION_MS, interval: 100 }).toBe(true);
    await expect(b.tools!.callTool('fx', 'add', { a: 1, b: 2 })).rejects.toMatchObject({
      code: 'tool_disabled',
      message: expect.stringContaining('adds wrong'),
    });
    await expect(b.tools!.callTool('fx', 'echo', { text: 'ok' })).resolves.toMatchObject({ content: [{ type: 'text', text: 'ok' }] });
    const offered = (await b.tools!.toolsFor(['fx'])).map((t) => t.function.name);
    expect(offered).toContain('fx__echo');
    expect(offered).not.toContain('fx__add');
    const listed = createServices(b).tools.get('fx');
    expect(listed.state).toBe('connected');
    expect(listed.tool_list.find((t) => t.name === 'add')).toMatchObject({ function_name: 'fx__add', disabled: true, disabled_reason: 'adds wrong' });
    expect(listed.tool_list.find((t) => t.name === 'echo')).toMatchObject({ disabled: false, input_schema: expect.objectContaining({ type: 'object' }) });
  });

  it('refuses callers of another tenant and unknown servers or tools, changing nothing', async () => {
    const open = await processes();
    const a = await open();
    const tools = createServices(a).tools;
    await expect(tools.disable(OTHER_TENANT, 'fx', 'not yours')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(tools.disable(OPERATOR, 'nope', 'x')).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('servers: fx') });
    await expect(tools.disable(OPERATOR, 'fx.', 'x')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(tools.disable(OPERATOR, 'fx', '   ')).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await a.store.listToolSwitches()).toEqual([]);
    expect(a.tools!.status()[0]!.state).not.toBe('disabled');
    const denied = (await createServices(a).audit.list(OPERATOR, { limit: 50 })).items.find((e) => e.action === 'tool.disable');
    expect(denied).toMatchObject({ outcome: 'denied' });
  });
});
