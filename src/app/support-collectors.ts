/**
 * The files of a support bundle, one collector each (see `support-bundle.ts`): versions, the
 * resolved configuration (secrets masked), migrations, workers, maintenance mode, counts, a
 * metrics snapshot, recent warnings and errors from the log files given, a server's `/readyz`;
 * then each run asked for (`support-runs.ts`). A collector reads through the application's
 * services on the store, or from the server at `--url`; a new file is one more entry here.
 */
import { arch, hostname, machine, platform, release, type as osType, version as osVersion } from 'node:os';
import { VERSION } from '../lib/version.js';
import { AgentryError } from '../lib/errors.js';
import { readMigrationStatus } from './bootstrap.js';
import { describeConfig } from './config-describe.js';
import { runDoctor } from './doctor.js';
import { storeMetricsText } from './metrics.js';
import { storeInfo } from './migrations.js';
import { servicesOf, type BundleContext } from './support-context.js';
import { recentProblems } from './support-logs.js';
import { runCollectors } from './support-runs.js';
import type { Collector } from './support-bundle.js';

type BundleCollector = Collector<BundleContext>;

/** The server's answer to `path`, as JSON when it is JSON; an error status is an error. */
async function remoteJson(ctx: BundleContext, path: string, okStatuses: readonly number[] = [200]): Promise<unknown> {
  const remote = ctx.remote!;
  const { status, text } = await remote.get(path, 'application/json');
  if (!okStatuses.includes(status)) throw new AgentryError('http_status', `GET ${remote.url}${path} answered ${status}: ${text.slice(0, 500)}`);
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    return { status, body: text };
  }
}

const versions: BundleCollector = {
  file: 'versions.json',
  about: 'Agentry, Node.js and OS versions; the store: kind, database version, location (no password), schema version',
  async collect(ctx) {
    const os = { type: osType(), release: release(), version: osVersion(), platform: platform(), arch: arch(), machine: machine(), hostname: hostname() };
    let store: unknown;
    try {
      const app = await ctx.open();
      store = { ...(await storeInfo(app.store)), database_version: await app.store.databaseVersion() };
    } catch (error) {
      store = { error: (error as Error).message };
    }
    return { agentry: VERSION, node: process.version, os, store, collected_at: new Date(ctx.now).toISOString() };
  },
};

const config: BundleCollector = {
  file: 'config.json',
  about: 'The resolved configuration (as `agentry config show --json`): each option, its value (secrets masked) and where it came from',
  collect(ctx) {
    return Promise.resolve(Object.fromEntries(describeConfig(ctx.config).map((r) => [r.key, { value: r.value, source: r.source, env: r.env }])));
  },
};

const migrations: BundleCollector = {
  file: 'migrations.json',
  about: 'The schema (as `agentry migrate status --json`): applied migrations with their time, pending ones',
  collect: (ctx) => readMigrationStatus(ctx.config),
};

const workers: BundleCollector = {
  file: 'workers.json',
  about: 'The worker processes (as `agentry workers list --json`): host, pid, roles, steps held, heartbeat, state',
  collect: async (ctx) => (await servicesOf(ctx)).fleet.list(ctx.caller),
};

const maintenance: BundleCollector = {
  file: 'maintenance.json',
  about: 'Whether maintenance mode is on (as `agentry maintenance status --json`)',
  collect: async (ctx) => (await servicesOf(ctx)).fleet.maintenance(ctx.caller),
};

const counts: BundleCollector = {
  file: 'counts.json',
  about: 'Runs and steps by status, open human tasks, the queue (steps due and unclaimed), in every tenant',
  async collect(ctx) {
    const { store } = await ctx.open();
    const [byStatus, tasks, queue] = await Promise.all([store.statusCounts(), store.openTaskStats(), store.queueStats(ctx.now)]);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      runs: byStatus.runs,
      steps: byStatus.steps,
      human_tasks_open: tasks.open,
      oldest_open_task_at: iso(tasks.oldestCreatedAt),
      queue: { depth: queue.depth, oldest_due_at: iso(queue.oldestDueAt) },
    };
  },
};

const metrics: BundleCollector = {
  file: 'metrics.txt',
  about: "A /metrics snapshot: the server's at --url (a key with metrics:read), else the deployment-wide gauges read from the store",
  async collect(ctx) {
    if (ctx.remote) {
      const { status, text } = await ctx.remote.get('/metrics', 'text/plain');
      if (status !== 200) throw new AgentryError('http_status', `GET ${ctx.remote.url}/metrics answered ${status}: ${text.slice(0, 500)}`);
      return text;
    }
    const { store } = await ctx.open();
    return storeMetricsText(store, ctx.config.engine.leaseTtlMs * 3);
  },
};

const errors: BundleCollector = {
  file: 'errors.log',
  about: 'Recent warning and error lines of the log files given with --log-file (none given: says so), secrets masked',
  collect: (ctx) => recentProblems(ctx.logFiles),
};

const doctor: BundleCollector = {
  file: 'doctor.json',
  about: 'The production-readiness checks (as `agentry doctor --json`, with --url when given): each check ok, warn, fail or skip, its detail and fix',
  collect: (ctx) => runDoctor(ctx.doctor),
};

const readyz: BundleCollector = {
  file: 'readyz.json',
  about: "The server's GET /readyz at --url: its status code and body (each check, with detail for a trusted caller)",
  skip: (ctx) => (ctx.remote ? undefined : 'no --url: there is no server to ask'),
  collect: (ctx) => remoteJson(ctx, '/readyz', [200, 503]),
};

/** The deployment's files, in the order they are collected. */
export const DEPLOYMENT_COLLECTORS: readonly BundleCollector[] = [versions, config, doctor, migrations, workers, maintenance, counts, metrics, errors, readyz];

/** Every file of a bundle: the deployment's, then each run's. */
export function supportCollectors(runIds: readonly string[]): BundleCollector[] {
  return [...DEPLOYMENT_COLLECTORS, ...runIds.flatMap((id) => runCollectors(id))];
}
