/** The audit service's group commit: entries that arrive while a write is in flight go together in one transaction. */
import { describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { EVERY_RUN, type Caller } from '../../src/app/caller.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { commitUnknown } from '../../src/store/transient.js';

const caller: Caller = { name: 'ops', roles: ['operator'], runAccess: EVERY_RUN, tenantId: 'acme' };

type Entries = readonly NewAuditEntry[] | (() => readonly NewAuditEntry[]);

/**
 * A store that records each write (one entry or a batch) and fails the ones `fail` picks. A batch
 * given as a function is taken when its transaction "begins": after `turnMs` (the time it waits
 * behind other writers), or at once; `unavailable` fails a write before it takes anything.
 */
function batching(
  fail: (entries: readonly NewAuditEntry[]) => Error | undefined = () => undefined,
  options: { turnMs?: number; unavailable?: () => boolean } = {},
) {
  const writes: string[][] = [];
  const write = async (given: Entries) => {
    if (options.turnMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.turnMs));
    if (typeof given === 'function' && options.unavailable?.() === true) throw new AgentryError('internal', 'database unavailable');
    const entries = typeof given === 'function' ? given() : given;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const error = fail(entries);
    if (error) throw error;
    writes.push(entries.map((e) => e.target ?? ''));
    return entries.map(() => ({}) as never);
  };
  const store = {
    appendAudit: async (entry: NewAuditEntry) => (await write([entry]))[0],
    appendAudits: (entries: Entries) => write(entries),
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

  it('takes the entries pending when its transaction begins: those that came while it waited for its turn go with it', async () => {
    const { store, writes } = batching(undefined, { turnMs: 20 });
    const audit = new AuditService(store);
    const first = audit.record(caller, 'run.start', 'a', 'success');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([first, ...['b', 'c'].map((t) => audit.record(caller, 'run.start', t, 'success'))]);
    expect(writes).toEqual([['a', 'b', 'c']]);
  });

  it('tries one by one the entries of a write that failed before it took them', async () => {
    let down = true;
    const { store, writes } = batching(undefined, { unavailable: () => down });
    const audit = new AuditService(store);
    const refused = audit.record(caller, 'run.start', 'a', 'success');
    down = false;
    await refused;
    expect(writes).toEqual([['a']]);
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
