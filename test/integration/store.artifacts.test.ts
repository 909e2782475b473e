/**
 * The artifact store on both backends (the directory beside an SQLite file, the PostgreSQL
 * table): names normalised and confined, the per-run limit checked with the write, a write of
 * the same name replacing the first, and — on the directory — a symbolic link leading out of the
 * run's folder refused with nothing written outside it.
 */
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { newRunRecord, storeFactories, tempDir } from '../helpers/store.js';

const write = (runId: string, name: string, content: string, maxRunBytes = 1_000) => ({
  runId,
  tenantId: 'default',
  stepId: 's',
  name,
  contentType: 'text/plain',
  content: Buffer.from(content),
  maxRunBytes,
});

describe.each(storeFactories)('artifact store ($name)', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await factory.open());
    for (const id of ['run_a', 'run_b', 'run_c']) await store.createRun(newRunRecord(id), [], async () => {});
  });
  afterAll(async () => {
    await cleanup();
  });

  it('uses the directory beside an SQLite file and the table on PostgreSQL', () => {
    expect(store.artifacts.backend).toBe(store.kind === 'sqlite' ? 'directory' : 'table');
  });

  it('normalises names, keeps a sha256, replaces a name written again, and lists by name', async () => {
    const first = await store.artifacts.put(write('run_a', './out//b.txt', 'one'));
    expect(first).toMatchObject({ name: 'out/b.txt', size: 3, sha256: '7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed' });
    await store.artifacts.put(write('run_a', 'a.txt', 'alpha'));
    await store.artifacts.put(write('run_a', 'out/b.txt', 'two!'));
    expect((await store.artifacts.list('run_a')).map((a) => [a.name, a.size])).toEqual([
      ['a.txt', 5],
      ['out/b.txt', 4],
    ]);
    expect((await store.artifacts.read('run_a', 'out/b.txt'))?.content.toString()).toBe('two!');
    expect(await store.artifacts.read('run_a', 'nope.txt')).toBeUndefined();
  });

  it('refuses names that climb out or are absolute, and a run past its limit, storing nothing', async () => {
    for (const name of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'C:/x', 'a b']) {
      await expect(store.artifacts.put(write('run_b', name, 'x')), name).rejects.toMatchObject({ code: 'artifact_denied' });
    }
    await store.artifacts.put(write('run_b', 'one.txt', 'x'.repeat(60), 100));
    await expect(store.artifacts.put(write('run_b', 'two.txt', 'x'.repeat(50), 100))).rejects.toMatchObject({ code: 'artifact_too_large' });
    // Replacing a file counts its new size only.
    await store.artifacts.put(write('run_b', 'one.txt', 'x'.repeat(90), 100));
    expect((await store.artifacts.list('run_b')).map((a) => a.name)).toEqual(['one.txt']);
    await expect(store.artifacts.put(write('run_nope', 'x.txt', 'x'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it.runIf(factory.name === 'sqlite')('refuses a symbolic link that leads out of the run folder, writing nothing outside', async () => {
    const root = join(dirname(store.location.replace(/^sqlite:/, '')), 'artifacts');
    const outside = tempDir('agentry-outside-');
    try {
      mkdirSync(join(root, 'default', 'run_c'), { recursive: true });
      symlinkSync(outside.dir, join(root, 'default', 'run_c', 'out'));
      await expect(store.artifacts.put(write('run_c', 'out/x.md', 'escape'))).rejects.toMatchObject({ code: 'artifact_denied' });
      await expect(store.artifacts.put(write('run_c', 'out/deeper/x.md', 'escape'))).rejects.toMatchObject({ code: 'artifact_denied' });
      expect(readdirSync(outside.dir)).toEqual([]);
      expect(await store.artifacts.list('run_c')).toEqual([]);
      // A tenant folder that is a link out is refused too.
      symlinkSync(outside.dir, join(root, 'elsewhere'));
      await store.createRun(newRunRecord('run_d', { tenantId: 'elsewhere' }), [], async () => {});
      await expect(store.artifacts.put({ ...write('run_d', 'x.md', 'escape'), tenantId: 'elsewhere' })).rejects.toMatchObject({ code: 'artifact_denied' });
      expect(readdirSync(outside.dir)).toEqual([]);
      // A stored file swapped for a link is not read through it.
      await store.artifacts.put(write('run_c', 'ok.md', 'fine'));
      rmSync(join(root, 'default', 'run_c', 'ok.md'));
      writeFileSync(join(outside.dir, 'secret.txt'), 'secret');
      symlinkSync(join(outside.dir, 'secret.txt'), join(root, 'default', 'run_c', 'ok.md'));
      expect(await store.artifacts.read('run_c', 'ok.md')).toBeUndefined();
      expect(readdirSync(join(root, 'default', 'run_c')).filter((f) => f.startsWith('.incoming'))).toEqual([]);
    } finally {
      outside.remove();
    }
  });
});
