/**
 * Probes: `/livez` (process up), `/readyz` (what this process's roles need, see
 * `app/readiness.ts`), `/health` (the same verdict as `{"status":"ok"}` or `{"status":"not_ready"}`
 * for load balancers that want that shape), `/healthz` (version, uptime). Open to all; but
 * `/readyz`'s checks name hosts, workflows and failures, so with `AGENTRY_READYZ_DETAIL=internal`
 * only trusted addresses and admin/operator keys see them — a probe needs the status code alone.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { CHECK_NAMES, type CheckName, type Readiness } from '../../app/readiness.js';
import { noteProblem } from '../access-log.js';
import { identify } from '../auth.js';
import type { RouteTable, ServerDeps } from '../route.js';

const MAINTENANCE_FLAG =
  'True while the fleet is in maintenance mode: the API answers and runs queue, but no worker claims a step; or, quiesced, the API refuses new runs while workers finish the accepted ones (absent where the process does not check it)';

/** Roles whose keys see `/readyz`'s checks from any address. */
const DETAIL_ROLES: readonly string[] = ['admin', 'operator'];

/** Whether this request may see `/readyz`'s checks (see the module comment). */
async function seesReadinessDetail(deps: ServerDeps, request: FastifyRequest): Promise<boolean> {
  if (deps.readyz.detail === 'full' || deps.readyz.isTrusted(request.ip)) return true;
  const principal = await identify(deps.auth, request.headers);
  return principal !== undefined && principal.roles.some((role) => DETAIL_ROLES.includes(role));
}

/** What each check looks at (the OpenAPI document shows it); `database` and `migrations` run on every role. */
const CHECK_DESCRIPTIONS: Record<CheckName, string> = {
  database: 'The store answers a query',
  migrations: 'The schema is at the latest migration of this build',
  workers: 'API: a worker (any process) sent a heartbeat within 3 × the lease TTL',
  worker: "Worker: this process's claim loop runs, went round within a few poll intervals, and its heartbeat reached the database",
  maintenance:
    'API and worker: whether the fleet is in maintenance mode (no worker claims a step; runs queue); fails on an API process while the fleet is quiesced (`agentry maintenance on --quiesce`: new runs are refused)',
  scheduler: "Scheduler: this process's sweep loop ran within a few intervals",
  gateway: 'API and worker: an in-process gateway, or the remote one answering `/livez` when a workflow has agent steps',
  upstreams: 'Gateway process: every model group has a provider with its key set and, at a configured base URL, reachable',
  tools: 'API and worker: not every tool server has failed',
  runtimes: 'API and worker: the step executors registered, one for every step kind the workflows use',
  specs: 'When the specs came from a bundle: its hash and signer',
  providers: 'When `AGENTRY_HEALTH_PROVIDERS` lists variables: each is set (named when not, never its value)',
  tool_secrets: 'When `AGENTRY_HEALTH_TOOL_SECRETS` lists variables: each is set',
};

const CheckSchema = Type.Object({ status: Type.Enum(['ok', 'fail']), detail: Type.String({ description: 'What was found, or what failed' }) });
const ChecksSchema = Type.Object(
  Object.fromEntries(
    CHECK_NAMES.map((name): [string, TSchema] => {
      const schema = { ...CheckSchema, description: CHECK_DESCRIPTIONS[name] };
      return [name, name === 'database' || name === 'migrations' ? schema : Type.Optional(schema)];
    }),
  ),
  { description: 'Shown to trusted addresses and admin/operator keys (`AGENTRY_READYZ_DETAIL`)' },
);
const ReadySchema = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  code: Type.Optional(Type.String({ description: '`not_ready` when a check fails' })),
  detail: Type.Optional(Type.String({ description: '`failing: <checks>`' })),
  request_id: Type.Optional(Type.String()),
  checks: Type.Optional(ChecksSchema),
});

/**
 * Logs when this process's readiness changes (not ready, which checks; ready again), once per
 * change, so that a readiness failure is in the logs even when nobody reads the probe's body.
 */
function transitionLogger(): (log: FastifyBaseLogger, readiness: Readiness) => void {
  let last: string | undefined;
  return (log, { failing, checks }) => {
    const state = failing.join(',');
    if (state === last) return;
    const first = last === undefined;
    last = state;
    if (failing.length > 0) {
      const details = Object.fromEntries(failing.map((name) => [name, checks[name]?.detail]));
      log.warn({ event: 'readiness_changed', ready: false, failing, checks: details }, `not ready: ${failing.join(', ')} failing`);
    } else if (!first) {
      log.info({ event: 'readiness_changed', ready: true }, 'ready again');
    }
  };
}

export function healthRoutes(table: RouteTable, deps: ServerDeps): void {
  const noteTransition = transitionLogger();
  const readiness = async (request: FastifyRequest): Promise<Readiness> => {
    const result = await deps.services.readiness.check(deps.roles);
    noteTransition(request.log, result);
    if (!result.ready) noteProblem(request, 'not_ready', `failing: ${result.failing.join(', ')}`);
    return result;
  };

  table.add({
    method: 'GET',
    url: '/livez',
    scope: null,
    summary: 'Liveness: 200 while the process is up (whatever its dependencies)',
    tags: ['health'],
    errors: [],
    schema: { operationId: 'getLiveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: () => Promise.resolve({ status: 'ok' as const }),
  });

  table.add({
    method: 'GET',
    url: '/healthz',
    scope: null,
    summary: 'Version and uptime',
    tags: ['health'],
    errors: [],
    schema: { operationId: 'getHealthz', response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptime_s: Type.Number() }) } },
    handler: () => Promise.resolve({ status: 'ok' as const, version: deps.version, uptime_s: Math.round((Date.now() - deps.startedAt) / 100) / 10 }),
  });

  table.add({
    method: 'GET',
    url: '/readyz',
    scope: null,
    summary: "Readiness: the checks this process's roles need; 503 not_ready naming the failing checks",
    tags: ['health'],
    errors: [],
    schema: { operationId: 'getReadiness', response: { 200: ReadySchema, 503: { ...ReadySchema, description: 'A check failed (`code: not_ready`)' } } },
    async handler(request, reply) {
      const { ready, checks, failing } = await readiness(request);
      const detail = await seesReadinessDetail(deps, request);
      if (ready) return detail ? { status: 'ready' as const, checks } : { status: 'ready' as const };
      if (!detail) return reply.code(503).send({ status: 'not_ready' as const });
      return reply.code(503).send({
        status: 'not_ready' as const,
        code: 'not_ready',
        detail: `failing: ${failing.join(', ')}`,
        request_id: request.id,
        checks,
      });
    },
  });

  table.add({
    method: 'GET',
    url: '/health',
    scope: null,
    summary:
      'Readiness as `{"status":"ok"}`, or 503 `{"status":"not_ready"}` (the checks of `/readyz`, without detail); with `"maintenance":true` while the deployment is in maintenance mode',
    tags: ['health'],
    errors: [],
    schema: {
      operationId: 'getHealth',
      response: {
        200: Type.Object({ status: Type.Literal('ok'), maintenance: Type.Optional(Type.Boolean({ description: MAINTENANCE_FLAG })) }),
        503: Type.Object(
          { status: Type.Literal('not_ready'), maintenance: Type.Optional(Type.Boolean({ description: MAINTENANCE_FLAG })) },
          { description: 'A check of `/readyz` failed' },
        ),
      },
    },
    async handler(request, reply) {
      const { ready, maintenance } = await readiness(request);
      // Only while it is on: a probe's usual answer stays `{"status":"ok"}`.
      const flag = maintenance === true ? { maintenance } : {};
      return ready ? { status: 'ok' as const, ...flag } : reply.code(503).send({ status: 'not_ready' as const, ...flag });
    },
  });
}
