/** The audit service without a database: how an outcome is classified, and whose error wins when the store fails too. */
import { describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { EVERY_RUN, type Caller } from '../../src/app/caller.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';

const caller: Caller = { name: 'ops', roles: ['operator'], runAccess: EVERY_RUN, tenantId: 'acme', requestId: 'req-1', clientIp: '10.0.0.9' };

function recording(fail = false): { store: Store; entries: NewAuditEntry[] } {
  const entries: NewAuditEntry[] = [];
  const appendAudit = (entry: NewAuditEntry) => {
    if (fail) return Promise.reject(new AgentryError('store_unavailable', 'database went away'));
    entries.push(entry);
    return Promise.resolve({} as never);
  };
  return { store: { appendAudit } as unknown as Store, entries };
}

describe('AuditService.audited', () => {
  it('records success, denied (4xx) and failure (5xx) with the caller, request id and address', async () => {
    const { store, entries } = recording();
    const audit = new AuditService(store);
    await audit.audited(
      caller,
      'run.cancel',
      'run:r1',
      () => Promise.resolve(1),
      (n) => ({ n }),
    );
    await expect(audit.audited(caller, 'run.cancel', 'run:r2', () => Promise.reject(new AgentryError('not_found', 'no')))).rejects.toThrow('no');
    await expect(audit.audited(caller, 'run.cancel', 'run:r3', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(entries.map((e) => [e.target, e.outcome, e.details])).toEqual([
      ['run:r1', 'success', { n: 1 }],
      ['run:r2', 'denied', { error: 'not_found' }],
      ['run:r3', 'failure', { error: 'internal' }],
    ]);
    expect(entries[0]).toMatchObject({ tenantId: 'acme', principal: 'ops', requestId: 'req-1', clientIp: '10.0.0.9' });
  });

  it('answers a refused action with its own error when the entry cannot be written', async () => {
    const audit = new AuditService(recording(true).store);
    await expect(audit.audited(caller, 'run.cancel', 'run:r1', () => Promise.reject(new AgentryError('not_found', 'run r1 not found')))).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('records failed sign-ins at most once a minute per client address', async () => {
    const { store, entries } = recording();
    let now = 1_000_000;
    const audit = new AuditService(store, () => now);
    expect(await audit.signInFailed({ clientIp: '10.0.0.1' }, 'bad key')).toBe(true);
    expect(await audit.signInFailed({ clientIp: '10.0.0.1' }, 'bad key')).toBe(false);
    expect(await audit.signInFailed({ clientIp: '10.0.0.2' }, 'bad key')).toBe(true);
    now += 60_000;
    expect(await audit.signInFailed({ clientIp: '10.0.0.1' }, 'bad key')).toBe(true);
    expect(entries).toHaveLength(3);
  });
});
