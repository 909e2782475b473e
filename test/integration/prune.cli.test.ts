import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/store.js';

describe('agentry prune', () => {
  const { dir, remove } = tempDir();
  const env = { AGENTRY_PROJECT_DIR: dir, USER: 'ops-alice' };
  afterAll(remove);

  async function runIds(): Promise<string[]> {
    const res = await runCliInProcess(['runs', 'list', '--json'], { env });
    expect(res.code, res.stderr).toBe(0);
    return (JSON.parse(res.stdout) as { items: { id: string }[] }).items.map((r) => r.id);
  }

  it('refuses a bad duration or status with a clear error and changes nothing', async () => {
    const bad = await runCliInProcess(['prune', '--older-than', 'nonsense'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must be a duration');
    const missing = await runCliInProcess(['prune'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--older-than');
    const running = await runCliInProcess(['prune', '--older-than', '1d', '--status', 'running'], { env });
    expect(running.code).toBe(2);
    expect(running.stderr).toContain("'running' cannot be pruned");
  });

  it('--dry-run counts and changes nothing; then the ended runs go, with an audit entry', async () => {
    mkdirSync(join(dir, 'workflows'), { recursive: true });
    writeFileSync(join(dir, 'workflows', 'noop.yaml'), 'version: v1\nname: noop\nsteps:\n  a:\n    transform: 1\n');
    for (let i = 0; i < 2; i++) {
      const started = await runCliInProcess(['run', 'noop', '--wait'], { env });
      expect(started.code, started.stderr).toBe(0);
    }
    const ids = await runIds();
    expect(ids).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 5)); // both ended before the cut-off

    const dry = await runCliInProcess(['prune', '--older-than', '1ms', '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ runs: 2, dry_run: true, statuses: ['succeeded', 'failed', 'cancelled', 'timed_out'] });
    expect(await runIds()).toEqual(ids);

    const none = await runCliInProcess(['prune', '--older-than', '1ms', '--status', 'failed,cancelled'], { env });
    expect(none.stdout).toContain('Pruned 0 runs');
    expect(await runIds()).toEqual(ids);

    const pruned = await runCliInProcess(['prune', '--older-than', '1ms', '--workflow', 'noop'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('Pruned 2 runs');
    expect(await runIds()).toEqual([]);
    const gone = await runCliInProcess(['runs', 'get', ids[0]!], { env });
    expect(gone.code).toBe(2);

    const audit = await runCliInProcess(['audit', 'list', '--action', 'runs.prune', '--json'], { env });
    const [entry] = (JSON.parse(audit.stdout) as { items: { principal: string; details: unknown }[] }).items;
    expect(entry).toMatchObject({ principal: 'ops-alice', details: { runs: 2, workflow: 'noop', dry_run: false } });
  });
});
