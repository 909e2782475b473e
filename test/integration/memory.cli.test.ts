/**
 * `agentry memory list|show|clear` on the project's store (SQLite and PostgreSQL) and against a
 * server (`AGENTRY_URL`): what each prints (and with `--json` the API's answer), thread ids with
 * any characters, `--tenant`, pruning with `--older-than`, and bad input refused with exit 2 and
 * nothing changed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { MemoryMessage, Store } from '../../src/store/store.js';
import { dbFile, runCliInProcess } from '../helpers/cli.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { cliStoreTargets, tempDir } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;
const ODD = 'cust ada/2 ?#%';

function exchange(text: string): MemoryMessage[] {
  return [
    { role: 'user', content: text },
    { role: 'assistant', content: `re: ${text}` },
  ];
}

async function seed(store: Store): Promise<void> {
  const now = Date.now();
  await store.appendMemory('default', 'support', ODD, exchange('my order is late'), 50, now);
  await store.appendMemory('default', 'support', 'cust-bob', exchange('hello'), 50, now);
  await store.appendMemory('default', 'support', 'old', exchange('long ago'), 50, now - 40 * DAY);
  await store.appendMemory('acme', 'support', ODD, exchange('acme only'), 50, now);
}

describe.each(cliStoreTargets)('agentry memory on the project store ($name)', { timeout: 60_000 }, (target) => {
  let dir: { dir: string; remove: () => void };
  let env: Record<string, string>;
  let done: () => Promise<void>;
  const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { env: { ...env, USER: 'ops-alice' }, cwd: dir.dir });

  beforeAll(async () => {
    dir = tempDir('agentry-memory-');
    mkdirSync(join(dir.dir, 'workflows'));
    writeFileSync(join(dir.dir, 'workflows/noop.yaml'), 'name: noop\nsteps:\n  a:\n    transform: 1\n');
    ({ env, done } = await target.env());
    // A run creates (and migrates) the store; the memory is then written as agents would.
    const run = await runCliInProcess(['run', 'noop', '--wait', '--dir', dir.dir], { env, cwd: dir.dir });
    expect(run.code, run.stderr).toBe(0);
    const store = openStore(env.AGENTRY_DATABASE_URL ?? `sqlite:${dbFile(dir.dir)}`);
    try {
      await seed(store);
    } finally {
      await store.close();
    }
  }, 60_000);
  afterAll(async () => {
    await done();
    dir.remove();
  });

  it('lists every tenant’s threads, or one tenant’s, with --prefix; shows a thread by its id as given', async () => {
    const list = await cli(['memory', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const items = JSON.parse(list.stdout).items as { thread: string; tenant_id: string; messages: number }[];
    expect(items.map((t) => `${t.tenant_id}:${t.thread}`).sort()).toEqual([`acme:${ODD}`, 'default:cust-bob', `default:${ODD}`, 'default:old'].sort());
    const acme = await cli(['memory', 'list', '--tenant', 'acme', '--json']);
    expect(JSON.parse(acme.stdout).items).toEqual([expect.objectContaining({ thread: ODD, tenant_id: 'acme', messages: 2 })]);
    const text = await cli(['memory', 'list', '--prefix', 'cust-', '--tenant', 'default']);
    expect(text.stdout).toMatch(/THREAD\s+AGENT\s+TENANT\s+MESSAGES\s+UPDATED/);
    expect(text.stdout).toMatch(/cust-bob\s+support\s+default\s+2/);
    expect(text.stdout).not.toContain(ODD);

    const show = await cli(['memory', 'show', ODD, '--tenant', 'default', '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      thread: ODD,
      items: [{ role: 'user', content: 'my order is late' }, { role: 'assistant' }],
      next_cursor: null,
    });
    const shown = await cli(['memory', 'show', ODD, '--tenant', 'acme']);
    expect(shown.stdout).toContain('acme only');
    expect(shown.stdout).not.toContain('my order is late');
    const missing = await cli(['memory', 'show', 'nobody']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not_found');
  });

  it('refuses bad input with exit 2 and changes nothing', async () => {
    const before = (await cli(['memory', 'list', '--json'])).stdout;
    for (const args of [
      ['memory', 'clear'],
      ['memory', 'clear', 'cust-bob', '--older-than', '1d'],
      ['memory', 'clear', '--older-than', 'soon'],
      ['memory', 'clear', 'x'.repeat(201)],
      ['memory', 'list', '--limit', '0'],
      ['memory', 'list', '--cursor', 'garbage'],
    ]) {
      const res = await cli(args);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr.length).toBeGreaterThan(10);
    }
    expect((await cli(['memory', 'list', '--json'])).stdout).toEqual(before);
  });

  it('clears one tenant’s thread, prunes old messages, and records both in the audit log', async () => {
    const cleared = await cli(['memory', 'clear', ODD, '--tenant', 'acme']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain(`Cleared thread ${ODD}: 2 messages deleted.`);
    // default's thread of the same id stays.
    expect(JSON.parse((await cli(['memory', 'show', ODD, '--json'])).stdout).items).toHaveLength(2);
    const pruned = await cli(['memory', 'clear', '--older-than', '30d', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ deleted: 2, older_than_ms: 30 * DAY });
    const threads = JSON.parse((await cli(['memory', 'list', '--json'])).stdout).items as { thread: string }[];
    expect(threads.map((t) => t.thread).sort()).toEqual(['cust-bob', ODD].sort());
    const audit = await cli(['audit', 'list', '--json']);
    const actions = (JSON.parse(audit.stdout) as { items: { action: string; principal: string; target: string }[] }).items.filter((e) =>
      e.action.startsWith('memory.'),
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'memory.clear', principal: 'ops-alice', target: `memory:${ODD}` }),
        expect.objectContaining({ action: 'memory.prune', principal: 'ops-alice' }),
      ]),
    );
  });
});

describe('agentry memory in a project without a store', () => {
  it('lists no threads, and cannot show or clear one', async () => {
    const dir = tempDir('agentry-memory-empty-');
    try {
      const cli = (args: string[]) => runCliInProcess([...args, '--dir', dir.dir], { cwd: dir.dir });
      const list = await cli(['memory', 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain('No memory threads.');
      const show = await cli(['memory', 'show', 'ada']);
      expect(show.code).toBe(2);
      expect(show.stderr).toContain('no run has kept any memory yet');
    } finally {
      dir.remove();
    }
  });
});

describe('agentry memory against a server', { timeout: 60_000 }, () => {
  let api: TestApi;
  let url: string;

  beforeAll(async () => {
    api = await startTestApi({ start: false });
    url = await listen(api.app);
    await seed(api.store);
  });
  afterAll(async () => {
    await api.close();
  });
  // The CLI's keep-alive connections to the server end with each test.
  afterEach(() => api.app.server.closeAllConnections());

  it("lists, shows and clears the key's tenant's threads, URL-encoding the id; a viewer may read, not clear", async () => {
    const operator = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.operator };
    const list = await runCliInProcess(['memory', 'list', '--json'], { env: operator });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout).items as { thread: string }[]).map((t) => t.thread).sort()).toEqual(['cust-bob', ODD, 'old'].sort());
    const show = await runCliInProcess(['memory', 'show', ODD, '--json'], { env: operator });
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).items.map((m: { content: string }) => m.content)).toEqual(['my order is late', 're: my order is late']);

    const viewer = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.viewer };
    const refused = await runCliInProcess(['memory', 'clear', ODD], { env: viewer });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('runs:write:all');
    const cleared = await runCliInProcess(['memory', 'clear', ODD, '--json'], { env: operator });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toEqual({ thread: ODD, agent: null, deleted: 2 });
    expect(await api.store.loadMemory('default', 'support', ODD, 50)).toEqual([]);
    expect(await api.store.loadMemory('acme', 'support', ODD, 50)).toHaveLength(2);
    const pruned = await runCliInProcess(['memory', 'clear', '--older-than', '30d'], { env: operator });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('Deleted 2 memory messages');
  });
});
