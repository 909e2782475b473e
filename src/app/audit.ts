/**
 * The audit log as the services record it and the API and CLI read it. Each use case that
 * changes state records one entry — who (the `Caller`), what, on what, from where (request id,
 * client address) and how it ended — right after the change: the change commits in its own
 * transaction (often the engine's, under a run's lock), then the entry is appended in one of
 * its own. A crash between the two loses that entry; the chain stays whole. When the entry of a
 * change that succeeded cannot be written, the use case fails with that error (the change
 * stands). Refusals (not found, forbidden, invalid) are recorded as `denied`, other errors as
 * `failure`.
 */
import type { Logger } from 'pino';
import type { MaintenanceTask } from '../engine/scheduler.js';
import { toAgentryError } from '../lib/errors.js';
import { ChainCheck, type ChainBreak } from '../store/audit-chain.js';
import { isCommitUnknown } from '../store/transient.js';
import type { AuditFilter, AuditListQuery, NewAuditEntry, Store } from '../store/store.js';
import type { AuditOutcome } from '../types.js';
import type { Caller } from './caller.js';
import { auditDto, type AuditEntryDto, type AuditPageDto } from './dto/audit.js';

/** `GET /v1/audit` filters: the store's query without the tenant (the caller decides it). */
export type AuditQuery = Omit<AuditListQuery, 'tenantId' | 'withInstallation'>;

/** `GET /v1/audit/export` filters: without the tenant (the caller decides it, as for `list`). */
export type AuditExportFilter = Omit<AuditFilter, 'tenantId' | 'withInstallation'>;

export interface AuditVerification {
  ok: boolean;
  /** Entries checked (up to the first broken one). */
  checked: number;
  head_seq: number;
  /** The seq of the last entry pruned by retention (0 when none was): the chain starts after it. */
  pruned_through_seq: number;
  broken: ChainBreak | null;
}

/** The principal of what the installation does by itself (migrations, retention). */
const SYSTEM = 'system';
/** How often a server's scheduler applies the audit log's retention (and once when it starts). */
export const AUDIT_RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const PAGE = 500;
/** Failed sign-ins from one client address are recorded at most once in this long. */
const SIGN_IN_FAILURE_WINDOW_MS = 60_000;
/** Addresses remembered for that limit; past it the memory starts over (a flood records a little more, never unbounded memory). */
const SIGN_IN_FAILURE_MEMORY = 10_000;

/** Most entries written in one transaction by the group commit of `AuditService`. */
const MAX_AUDIT_BATCH = 64;

interface PendingEntry {
  entry: NewAuditEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class AuditService {
  private readonly lastSignInFailure = new Map<string, number>();
  private readonly pending: PendingEntry[] = [];
  private flushing = false;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a request refused for a missing or wrong API key (`auth.sign_in`, `denied`), at most
   * once a minute per client address, so a flood of bad keys cannot flood the log. The key
   * itself is never recorded. (When keys get public prefixes, add the prefix to the limit's key
   * and to `details`.) Returns whether an entry was written.
   */
  async signInFailed(source: { requestId?: string; clientIp?: string }, reason: string): Promise<boolean> {
    const address = source.clientIp ?? 'unknown';
    const now = this.now();
    const last = this.lastSignInFailure.get(address);
    if (last !== undefined && now - last < SIGN_IN_FAILURE_WINDOW_MS) return false;
    if (this.lastSignInFailure.size >= SIGN_IN_FAILURE_MEMORY) this.lastSignInFailure.clear();
    this.lastSignInFailure.set(address, now);
    await this.record({ name: 'anonymous', roles: [], runAccess: { read: 'own', write: 'own' }, ...source }, 'auth.sign_in', null, 'denied', { reason });
    return true;
  }

  /** Appends one entry for `caller`; resolves once it is committed. */
  async record(caller: Caller, action: string, target: string | null, outcome: AuditOutcome, details: Record<string, unknown> | null = null): Promise<void> {
    await this.append({
      tenantId: caller.tenantId ?? null,
      principal: caller.name,
      action,
      target,
      requestId: caller.requestId ?? null,
      outcome,
      clientIp: caller.clientIp ?? null,
      details,
    });
  }

  /**
   * Group commit: an entry appended while a write of entries is in flight waits for it and goes
   * with the others that came meanwhile, in one transaction (`Store.appendAudits`), instead of
   * a transaction each. A write takes the entries pending when its transaction begins, not when
   * it asks for one: on SQLite it waits its turn behind the other writers (the runs whose starts
   * these entries record), and the entries of those starts go with it. An entry alone is written
   * at once, so nothing waits that did not have to. Each caller resolves once its entry is
   * committed; when a batch fails, its entries are tried one by one, so an entry fails only for
   * its own error (a commit that may have been applied is not repeated: its entries get its error).
   */
  private append(entry: NewAuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /**
   * Writes the pending entries, batch after batch, until none is left. Nothing in the loop
   * throws (each entry settles its own promise), and `flushing` is cleared in the same tick as
   * the loop's last look at `pending`: an entry appended after that starts a new flush.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      let batch: PendingEntry[] | undefined;
      const take = (): NewAuditEntry[] => (batch ??= this.pending.splice(0, MAX_AUDIT_BATCH)).map((p) => p.entry);
      try {
        await this.store.appendAudits(take);
        for (const p of batch ?? []) p.resolve();
      } catch (error) {
        // A commit cut off may have been applied: its entries are not written again (the error is theirs).
        // A transaction that failed before it took any entries leaves them for the one-by-one tries.
        if (isCommitUnknown(error) && batch !== undefined) for (const p of batch) p.reject(error);
        else for (const p of batch ?? this.pending.splice(0, MAX_AUDIT_BATCH)) await this.appendOne(p);
      }
    }
    this.flushing = false;
  }

  private async appendOne(p: PendingEntry): Promise<void> {
    try {
      await this.store.appendAudit(p.entry);
      p.resolve();
    } catch (error) {
      p.reject(error);
    }
  }

  /**
   * Runs a use case and records how it ended: `success` (with `details` of the result), or
   * `denied` / `failure` with the error's code; the error is rethrown.
   */
  async audited<T>(caller: Caller, action: string, target: string, fn: () => Promise<T>, details?: (result: T) => Record<string, unknown> | null): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      const e = toAgentryError(error);
      // The use case's own error is the answer: an entry that cannot be written (the store is
      // what failed) does not replace it.
      await this.record(caller, action, target, e.status < 500 ? 'denied' : 'failure', { error: e.code }).catch(() => undefined);
      throw error;
    }
    await this.record(caller, action, target, 'success', details ? details(result) : null);
    return result;
  }

  /**
   * Entries newest first, of the caller's tenant; a system admin also reads the installation's
   * own entries (no tenant: migrations, failed sign-ins, retention). The CLI on its own store
   * without `--tenant` reads every entry.
   */
  async list(caller: Caller, query: AuditQuery): Promise<AuditPageDto> {
    const scoped = caller.tenantId === undefined ? query : { ...query, tenantId: caller.tenantId, withInstallation: caller.systemAdmin === true };
    const page = await this.store.listAudit(scoped);
    return { items: page.items.map(auditDto), next_cursor: page.nextCursor };
  }

  /**
   * Every entry matching `filter` after seq `afterSeq`, oldest first, a page at a time (for a
   * SIEM: it remembers the last seq it took and asks for what came after), scoped as `list` is. The first page is
   * read before this resolves, so a failing store is an error, not a cut-off stream.
   */
  async export(caller: Caller, filter: AuditExportFilter, afterSeq = 0): Promise<AsyncGenerator<AuditEntryDto[]>> {
    const scoped: AuditFilter =
      caller.tenantId === undefined ? filter : { ...filter, tenantId: caller.tenantId, withInstallation: caller.systemAdmin === true };
    const first = await this.store.exportAudit(scoped, afterSeq, PAGE);
    const store = this.store;
    return (async function* pages() {
      let page = first;
      while (page.length > 0) {
        yield page.map(auditDto);
        const last = page[page.length - 1];
        if (!last || page.length < PAGE) return;
        page = await store.exportAudit(scoped, last.seq, PAGE);
      }
    })();
  }

  /** Walks the whole chain from its anchor to its head; names the first broken entry. */
  async verify(): Promise<AuditVerification> {
    const head = await this.store.auditHead();
    const chain = new ChainCheck(head);
    let after = head.prunedSeq;
    for (;;) {
      const entries = await this.store.auditChain(after, PAGE);
      for (const entry of entries) if (!chain.add(entry)) break;
      const last = entries[entries.length - 1];
      if (chain.broken || !last || entries.length < PAGE) break;
      after = last.seq;
    }
    const broken = chain.finish() ?? null;
    return { ok: broken === null, checked: chain.count, head_seq: head.seq, pruned_through_seq: head.prunedSeq, broken };
  }

  /**
   * Deletes entries older than `retentionMs` and records the prune as an entry holding the
   * last deleted entry's seq and hash, so the chain still verifies from there. Returns how
   * many entries were deleted (none: no entry is written). `by` is who prunes: the CLI's user,
   * or (default) `system` for the scheduler's periodic retention.
   */
  async prune(retentionMs: number, by?: Caller): Promise<number> {
    const anchor = await this.store.pruneAudit(this.now() - retentionMs, {
      tenantId: null,
      principal: by?.name ?? SYSTEM,
      action: 'audit.prune',
      target: null,
      requestId: null,
      outcome: 'success',
      clientIp: null,
      details: { retention_ms: retentionMs },
    });
    return anchor ? Number(anchor.details?.pruned_count ?? 0) : 0;
  }
}

/**
 * The audit log's retention as a scheduler's maintenance task: on start and hourly, prunes
 * entries older than `retentionMs` as `system`. Safe in several processes at once: a prune
 * holds the chain's head row, and the second finds nothing old enough left (no entry).
 */
export function auditRetentionTask(audit: AuditService, retentionMs: number, logger: Logger): MaintenanceTask {
  return {
    name: 'audit retention',
    everyMs: AUDIT_RETENTION_INTERVAL_MS,
    async run() {
      const pruned = await audit.prune(retentionMs);
      logger.info({ pruned, retention_ms: retentionMs }, `audit retention: pruned ${pruned} ${pruned === 1 ? 'entry' : 'entries'}`);
      return { entries: pruned };
    },
  };
}
