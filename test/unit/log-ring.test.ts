/**
 * The server's in-memory log lines (`obs/log-ring.ts`, `app/logs.ts`): the ring keeps the last
 * lines exactly as the logger wrote them (after redaction), filters by level, and a follower
 * that falls behind is dropped rather than buffered without limit.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/app/caller.js';
import { LogService, type FollowItem } from '../../src/app/logs.js';
import { Redactor } from '../../src/lib/redact.js';
import { LogRing } from '../../src/obs/log-ring.js';
import { createLogger } from '../../src/obs/logger.js';

const PLANTED = 'planted-value-4f1c9a7e2b';
const admin: Caller = { principal: 'ops', scopes: new Set(), systemAdmin: false, tenantId: 'default' } as unknown as Caller;

function logger(ring: LogRing) {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ level: 'debug', destination: sink, redactor: new Redactor({ secrets: [PLANTED] }), ring }), written };
}

describe('LogRing', () => {
  it('keeps the lines the logger wrote, after redaction, the same as the destination got', () => {
    const ring = new LogRing(10);
    const { log, written } = logger(ring);
    log.info({ headers: { authorization: `Bearer ${PLANTED}` }, note: `key ${PLANTED}` }, `called with ${PLANTED}`);
    const [line] = ring.recent(10);
    expect(line?.line).toBe(written[0]?.trimEnd());
    expect(line?.line).not.toContain(PLANTED);
    expect(JSON.parse(line!.line)).toMatchObject({ level: 'info', headers: { authorization: '[redacted]' }, msg: 'called with [redacted]' });
  });

  it('holds at most its capacity (the oldest go first) and filters by level', () => {
    const ring = new LogRing(3);
    const { log } = logger(ring);
    log.debug('one');
    log.warn('two');
    log.info('three');
    log.error('four');
    const msgs = (lines: { line: string }[]) => lines.map((l) => (JSON.parse(l.line) as { msg: string }).msg);
    expect(msgs(ring.recent(10))).toEqual(['two', 'three', 'four']);
    expect(msgs(ring.recent(2))).toEqual(['three', 'four']);
    expect(msgs(ring.recent(10, 'warn'))).toEqual(['two', 'four']);
    expect(ring.recent(10).map((l) => l.seq)).toEqual([2, 3, 4]);
  });
});

describe('LogService', () => {
  it('answers not_found when the process keeps no lines, and forbids callers of another tenant', async () => {
    await expect(new LogService({ ring: undefined, deploymentTenant: 'default' }).recent(admin, { limit: 5 })).rejects.toMatchObject({ code: 'not_found' });
    const other = { ...admin, tenantId: 'acme' } as Caller;
    expect(() =>
      new LogService({ ring: new LogRing(5), deploymentTenant: 'default' }).follow(other, { limit: 5, signal: new AbortController().signal }),
    ).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });

  it('follows: the backlog, then new lines at the level asked for, until aborted', async () => {
    const ring = new LogRing(10);
    const { log } = logger(ring);
    log.info('old');
    log.warn('old warning');
    const stop = new AbortController();
    const items = new LogService({ ring, deploymentTenant: 'default' }).follow(admin, { limit: 5, level: 'warn', signal: stop.signal });
    const first = await items.next();
    expect(first.value).toMatchObject({ kind: 'line', line: { level: 'warn', record: { msg: 'old warning' } } });
    const pending = items.next();
    log.info('new info');
    log.error('new error');
    expect((await pending).value).toMatchObject({ kind: 'line', line: { level: 'error', record: { msg: 'new error' } } });
    const waiting = items.next();
    stop.abort();
    expect((await waiting).done).toBe(true);
    expect(ring.subscribers).toBe(0);
  });

  it('drops a follower that falls more than maxPending lines behind, instead of buffering', async () => {
    const ring = new LogRing(100);
    const { log } = logger(ring);
    const items = new LogService({ ring, deploymentTenant: 'default' }).follow(admin, { limit: 0, signal: new AbortController().signal, maxPending: 3 });
    // The reader reads nothing while ten lines are written.
    for (let i = 0; i < 10; i++) log.info(`line ${i}`);
    const seen: FollowItem[] = [];
    for await (const item of items) seen.push(item);
    expect(seen).toEqual([{ kind: 'dropped', pending: 4 }]);
    expect(ring.subscribers).toBe(0);
  });
});
