/** The audit service's group commit: entries that arrive while a write is in flight go together in one transaction. */
import { describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { EVERY_RUN, type Caller } from '../../src/app/caller.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { commitUnknown } from '../../src/store/transient.js';

const caller: Caller = { name: 'ops', roles: ['operator'], runAccess: EVERY_RUN, tenantId: 'acme' };

/** A store that records each write (one entry or a batch) and fails the ones `fail` picks. */
function batching(fail: (entries: readonly NewAuditEntry[]) => Error | undefined = () => undefined) {
  const writes: string[][] = [];
  const write = async (entries: readonly NewAuditEntry[]) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const error = fail(entries);
    if (error) throw error;
    writes.push(entries.map((e) => e.target ?? ''));
    return entries.map(() => ({}) as never);
  };
  const store = {
    appendAudit: async (entry: NewAuditEntry) => (await write([entry]))[0],
    appendAudits: (entries: readonly NewAuditEntry[]) => write(entries),
  } as unknown as Store;
  return { store, writes };
}

describe('AuditService group commit', () => {
  it('writes an entry alone at once, and the entries that came during that write together, in order', async () => {
    const { store, writes } = batching();
    const audit = new AuditService(store);
    await Promise.all(['a', 'b', 'c', 'd'].map((t) => audit.record(caller, 'run.start', t, 'success')));
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);
    await audit.record(caller, 'run.start', 'e', 'success');
    expect(writes.at(-1)).toEqual(['e']);
  });

  it('tries the entries of a failed batch one by one: only the entry at fault fails', async () => {
    const { store, writes } = batching((entries) => (entries.some((e) => e.target === 'bad') ? new AgentryError('invalid_request', 'bad entry') : undefined));
    const audit = new AuditService(store);
    const results = await Promise.allSettled(['a', 'b', 'bad', 'c'].map((t) => audit.record(caller, 'run.start', t, 'success')));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(writes.flat().sort()).toEqual(['a', 'b', 'c']);
  });

  it('does not write again the entries of a batch whose commit may have been applied', async () => {
    let failed = false;
    const { store, writes } = batching((entries) => {
      if (entries.length > 1 && !failed) return ((failed = true), commitUnknown(new Error('connection reset')));
      return undefined;
    });
    const audit = new AuditService(store);
    const results = await Promise.allSettled(['a', 'b', 'c'].map((t) => audit.record(caller, 'run.start', t, 'success')));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(writes).toEqual([['a']]);
  });
});
