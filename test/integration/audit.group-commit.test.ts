/** Audit entries recorded concurrently are written in batches (group commit) and still form one verifiable chain, on every store. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { EVERY_RUN } from '../../src/app/caller.js';
import type { Store } from '../../src/store/store.js';
import { storeFactories } from '../helpers/store.js';

for (const factory of storeFactories) {
  describe(`audit group commit (${factory.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory.open());
    });
    afterEach(() => cleanup());

    it('writes concurrent entries once each, numbered without gaps, in a chain that verifies', async () => {
      const audit = new AuditService(store);
      const targets = Array.from({ length: 40 }, (_, i) => `run:r${i}`);
      await Promise.all(
        targets.map((t, i) => audit.record({ name: `k${i % 3}`, roles: [], runAccess: EVERY_RUN, tenantId: 'acme' }, 'run.start', t, 'success')),
      );
      const page = await audit.list({ name: 'root', roles: [], runAccess: EVERY_RUN }, { limit: 200 });
      const started = page.items.filter((e) => e.action === 'run.start');
      expect(started.map((e) => e.target).sort()).toEqual([...targets].sort());
      const seqs = started.map((e) => e.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
      expect(await audit.verify()).toMatchObject({ ok: true, broken: null });
    });
  });
}
