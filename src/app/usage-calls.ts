/**
 * The per-call view of the gateway's ledger (`GET /v1/usage/calls`, `agentry usage calls`):
 * every attempt of every LLM call with its latency, tokens, cost and error code, newest first,
 * filtered and cursor-paged. Needs only the store, so the CLI reads it without an engine.
 */
import type { CallOutcome } from '../types.js';
import type { Store } from '../store/store.js';
import { tenantFilter, type Caller } from './caller.js';
import { usageCallDto, type UsageCallPageDto } from './dto/usage-calls.js';

export interface UsageCallFilter {
  runId?: string;
  workflow?: string;
  group?: string;
  status?: CallOutcome;
  /** Epoch ms: calls at or after. */
  after?: number;
  /** Epoch ms: calls before. */
  before?: number;
  limit: number;
  cursor?: string;
}

export class UsageCallsService {
  constructor(private readonly store: Pick<Store, 'listCalls'>) {}

  /** A caller scoped to a tenant sees that tenant's calls only; the deployment's own keys (and the CLI on its store) see every tenant's, or the one they name. */
  async list(caller: Caller, filter: UsageCallFilter): Promise<UsageCallPageDto> {
    const { status, group, ...rest } = filter;
    const page = await this.store.listCalls({
      ...rest,
      ...(status === undefined ? {} : { outcome: status }),
      ...(group === undefined ? {} : { group }),
      ...tenantFilter(caller),
    });
    return { items: page.items.map(usageCallDto), next_cursor: page.nextCursor };
  }
}
