/** Store factories for the suites that run on every store (PostgreSQL joins when it exists). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

export interface StoreFactory {
  name: string;
  /** A fresh, migrated store of its own; `cleanup` closes it and removes its data. */
  open(options?: { now?: () => number }): Promise<{ store: Store; cleanup: () => Promise<void> }>;
}

export function tempDir(prefix = 'agentry-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async open(options = {}) {
    const { dir, remove } = tempDir();
    const store = openSqliteStore(join(dir, 'agentry.db'), options.now ? { now: options.now } : {});
    await store.migrate();
    return {
      store,
      cleanup: async () => {
        await store.close();
        remove();
      },
    };
  },
};

export const storeFactories: StoreFactory[] = [sqliteFactory];
