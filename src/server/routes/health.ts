/**
 * Probes: `/livez` (process up), `/readyz` (dependencies), `/healthz` (version, uptime). Open to
 * all; but `/readyz`'s checks name hosts, workflows and failures, so with `AGENTRY_READYZ_DETAIL=internal`
 * only trusted addresses and admin/operator keys see them — a probe needs the status code alone.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { toAgentryError } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/redact.js';
import { noteProblem } from '../access-log.js';
import { identify } from '../auth.js';
import type { RouteTable, ServerDeps } from '../route.js';

/** Roles whose keys see `/readyz`'s checks from any address. */
const DETAIL_ROLES: readonly string[] = ['admin', 'operator'];

/** Whether this request may see `/readyz`'s checks (see the module comment). */
async function seesReadinessDetail(deps: ServerDeps, request: FastifyRequest): Promise<boolean> {
  if (deps.readyz.detail === 'full' || deps.readyz.isTrusted(request.ip)) return true;
  const principal = await identify(deps.auth, request.headers);
  return principal !== undefined && principal.roles.some((role) => DETAIL_ROLES.includes(role));
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Ok with a gateway (in-process or remote), or without one when no workflow has agent steps. */
function gatewayCheck(deps: ServerDeps): Promise<string> {
  const gw = deps.gateway;
  if (gw?.kind === 'local') return Promise.resolve(`in-process: ${plural(gw.gateway.models().length, 'model group')}`);
  if (gw?.kind === 'remote') return Promise.resolve(`remote: ${maskSecrets(gw.url)}`);
  const users = deps.services.workflows.withAgentSteps();
  if (users.length > 0) throw new Error(`workflows with agent steps (${users.join(', ')}) but no gateway.yaml and no AGENTRY_GATEWAY_URL`);
  return Promise.resolve('not configured (no workflow has agent steps)');
}

/** Ok unless every tool server has failed; the detail counts servers by state. */
function toolsCheck(deps: ServerDeps): Promise<string> {
  const servers = deps.services.tools.list();
  if (servers.length === 0) return Promise.resolve('no tool servers');
  const counts = new Map<string, number>();
  for (const s of servers) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  const detail = `${plural(servers.length, 'server')}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`;
  if (counts.get('failed') === servers.length) throw new Error(`every tool server failed (${detail})`);
  return Promise.resolve(detail);
}

/** The bundle the specs came from: its hash, when verified its signer, and who approved it for which environment. */
function specsCheck(deps: ServerDeps): Promise<string> | undefined {
  const bundle = deps.specBundle;
  if (bundle === undefined) return undefined;
  const signer = bundle.signer ? `signed by '${bundle.signer.name}' (key ${bundle.signer.keyId})` : 'signature not verified';
  const approval = [
    ...(bundle.approvedBy === undefined ? [] : [`approved by '${bundle.approvedBy}'`]),
    ...(bundle.env === undefined ? [] : [`for env '${bundle.env}'`]),
  ].join(' ');
  return Promise.resolve(`bundle ${bundle.hash}, ${signer}${approval === '' ? '' : `, ${approval}`}`);
}

const CHECK_TIMEOUT_MS = 2_000;

const CheckSchema = Type.Object({ status: Type.Enum(['ok', 'fail']), detail: Type.String() });
const ReadySchema = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  code: Type.Optional(Type.String({ description: '`not_ready` when a check fails' })),
  detail: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String()),
  checks: Type.Optional(
    Type.Object(
      {
        database: CheckSchema,
        migrations: CheckSchema,
        workers: Type.Optional(CheckSchema),
        gateway: Type.Optional(CheckSchema),
        tools: Type.Optional(CheckSchema),
        specs: Type.Optional({ ...CheckSchema, description: 'When the specs came from a bundle: its hash and signer' }),
      },
      { description: 'Shown to trusted addresses and admin/operator keys (`AGENTRY_READYZ_DETAIL`)' },
    ),
  ),
});
type Check = { status: 'ok' | 'fail'; detail: string };

async function check(fn: () => Promise<string>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS}ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    return { status: 'ok', detail: await Promise.race([fn(), timeout]) };
  } catch (error) {
    return { status: 'fail', detail: toAgentryError(error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/livez',
    scope: null,
    summary: 'Liveness: 200 while the process is up',
    tags: ['health'],
    errors: [],
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: () => Promise.resolve({ status: 'ok' as const }),
  });

  table.add({
    method: 'GET',
    url: '/healthz',
    scope: null,
    summary: 'Version and uptime',
    tags: ['health'],
    errors: [],
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptime_s: Type.Number() }) } },
    handler: () => Promise.resolve({ status: 'ok' as const, version: deps.version, uptime_s: Math.round((Date.now() - deps.startedAt) / 100) / 10 }),
  });

  table.add({
    method: 'GET',
    url: '/readyz',
    scope: null,
    summary: 'Readiness: database, migrations, workers, gateway and tools; 503 not_ready naming the failing check',
    tags: ['health'],
    errors: [],
    schema: { response: { 200: ReadySchema, 503: { ...ReadySchema, description: 'A check failed (`code: not_ready`)' } } },
    async handler(request, reply) {
      const api = deps.groups.has('api');
      const gatewayRole = deps.groups.has('gateway');
      const { health } = deps.services;
      const bundle = specsCheck(deps);
      const [database, migrations, workers, gateway, tools, specs] = await Promise.all([
        check(() => health.database()),
        check(() => health.migrations()),
        // A gateway-only process runs no steps: workers and tools are not its concern.
        !api ? undefined : check(() => health.workers(deps.workerTtlMs)),
        api || gatewayRole ? check(() => gatewayCheck(deps)) : undefined,
        !api ? undefined : check(() => toolsCheck(deps)),
        bundle && check(() => bundle),
      ]);
      const checks = { database, migrations, ...(workers && { workers }), ...(gateway && { gateway }), ...(tools && { tools }), ...(specs && { specs }) };
      const failing = Object.entries(checks)
        .filter(([, c]) => c.status === 'fail')
        .map(([name]) => name);
      const detail = await seesReadinessDetail(deps, request);
      if (failing.length === 0) return detail ? { status: 'ready' as const, checks } : { status: 'ready' as const };
      noteProblem(request, 'not_ready', `failing: ${failing.join(', ')}`);
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
}
