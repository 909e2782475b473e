/**
 * A support bundle's files for one run (`--run <id>`, repeatable): its record with steps and
 * usage, each step's attempts, its events (its trace: every state change in order) and its audit
 * entries, under `runs/<id>/` — what `agentry runs get`, `runs attempts`, `runs events` and
 * `audit list --run` show, through the same services.
 */
import type { RunDetailDto, EventDto } from './dto/runs.js';
import type { AuditEntryDto } from './dto/audit.js';
import type { Services } from './services.js';
import type { Collector } from './support-bundle.js';
import { servicesOf, type BundleContext } from './support-context.js';

/** At most this many events or audit entries per run. */
const MAX_ITEMS = 10_000;
const PAGE = 500;

async function allEvents(s: Services, ctx: BundleContext, id: string): Promise<{ items: EventDto[]; truncated: boolean }> {
  const items: EventDto[] = [];
  let after = 0;
  while (items.length < MAX_ITEMS) {
    const page = await s.runs.events(ctx.caller, id, after, PAGE);
    items.push(...page.items);
    if (page.items.length < PAGE) return { items, truncated: false };
    after = page.next_after;
  }
  return { items, truncated: true };
}

async function allAudit(s: Services, ctx: BundleContext, id: string): Promise<{ items: AuditEntryDto[]; truncated: boolean }> {
  const items: AuditEntryDto[] = [];
  let cursor: string | undefined;
  while (items.length < MAX_ITEMS) {
    const page = await s.audit.list(ctx.caller, { runId: id, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
    items.push(...page.items);
    if (page.next_cursor === null) return { items, truncated: false };
    cursor = page.next_cursor;
  }
  return { items, truncated: true };
}

/** The files of run `id`. */
export function runCollectors(id: string): Collector<BundleContext>[] {
  const dir = `runs/${id}`;
  return [
    {
      file: `${dir}/run.json`,
      about: `Run ${id} (as \`agentry runs get --json\`): status, input, output, error, steps, children, usage`,
      collect: async (ctx) => (await servicesOf(ctx)).runs.get(ctx.caller, id),
    },
    {
      file: `${dir}/attempts.json`,
      about: `Each step of run ${id}: its attempts (worker, times, status, error, input, output)`,
      async collect(ctx) {
        const s = await servicesOf(ctx);
        const run: RunDetailDto = await s.runs.get(ctx.caller, id);
        const entries = await Promise.all(run.steps.map(async (step) => [step.id, await s.runs.attempts(ctx.caller, id, step.id)] as const));
        return Object.fromEntries(entries);
      },
    },
    {
      file: `${dir}/events.json`,
      about: `The events of run ${id} in order (as \`agentry runs events --json\`): its history and trace`,
      collect: async (ctx) => allEvents(await servicesOf(ctx), ctx, id),
    },
    {
      file: `${dir}/audit.json`,
      about: `The audit entries about run ${id} (as \`agentry audit list --run\`)`,
      collect: async (ctx) => allAudit(await servicesOf(ctx), ctx, id),
    },
  ];
}
