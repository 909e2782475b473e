/** LLM usage from the gateway's ledger, by tenant, workflow, model group, model and UTC day. */
import { tenantFilter, type Caller } from './caller.js';
import { usageItemDto, usageTotals, type UsageReportDto } from './dto/usage.js';
import type { ServiceDeps } from './service-deps.js';

export interface UsageFilter {
  workflow?: string;
  runId?: string;
  /** First UTC day (`YYYY-MM-DD`), inclusive. */
  fromDay?: string;
  /** Last UTC day (`YYYY-MM-DD`), inclusive. */
  toDay?: string;
}

export class UsageService {
  constructor(private readonly deps: Pick<ServiceDeps, 'store'>) {}

  /** A caller scoped to a tenant sees that tenant only; the deployment's own keys see every tenant. */
  async report(caller: Caller, filter: UsageFilter): Promise<UsageReportDto> {
    const rows = await this.deps.store.usage({ ...filter, ...tenantFilter(caller) });
    return { items: rows.map(usageItemDto), totals: usageTotals(rows) };
  }
}
