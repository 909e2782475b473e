/**
 * The SQLite store's folder outside a container (SEC-06): the folder `openSqliteStore` or the
 * server lock creates for the database (`.agentry/` by default) is mode 0700, every level it
 * creates; a folder that exists keeps its mode.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { acquireSqliteServerLock } from '../../src/store/sqlite-server-lock.js';
import { tempDir } from '../helpers/store.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function scratch(): string {
  const { dir, remove } = tempDir();
  removals.push(remove);
  return dir;
}

const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe("the SQLite store's data folder", () => {
  it('is created 0700, with each folder above it that did not exist', async () => {
    const root = scratch();
    const store = openSqliteStore(join(root, 'project/.agentry/agentry.db'));
    try {
      expect(store.location).toBe(`sqlite:${join(root, 'project/.agentry/agentry.db')}`);
      expect(modeOf(join(root, 'project/.agentry')).toString(8)).toBe('700');
      expect(modeOf(join(root, 'project')).toString(8)).toBe('700');
    } finally {
      await store.close();
    }
  });

  it('is created 0700 by the server lock too, which may come first', () => {
    const root = scratch();
    const lock = acquireSqliteServerLock(join(root, 'data/agentry.db'));
    try {
      expect(modeOf(join(root, 'data')).toString(8)).toBe('700');
    } finally {
      lock.release();
    }
  });

  it('keeps the mode of a folder that exists (the image’s /data is 0750)', async () => {
    const root = scratch();
    const dir = join(root, 'data');
    mkdirSync(dir);
    chmodSync(dir, 0o750);
    const store = openSqliteStore(join(dir, 'agentry.db'));
    await store.close();
    expect(modeOf(dir).toString(8)).toBe('750');
  });
});
