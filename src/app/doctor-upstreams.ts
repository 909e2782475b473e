/**
 * The doctor's checks of what the engine calls out to. `providers`: a gateway process this one
 * calls answers `/livez`; the project's own gateway has every provider's key and reaches every
 * configured base URL (as `/readyz`'s `upstreams`), and with `--providers` each provider answers
 * a 1-token chat call (spending that token; not recorded in the usage ledger). `tools`: with
 * `--tools`, each configured tool server starts and lists its tools.
 */
import { pino } from 'pino';
import { resolveGatewaySpec } from '../gateway/config.js';
import { Gateway, InMemoryUsageLedger } from '../gateway/index.js';
import { createProvider } from '../gateway/providers/index.js';
import { createToolHub } from '../tools/index.js';
import type { Project } from './bootstrap.js';
import type { CheckDefinition, DoctorContext, Outcome } from './doctor-context.js';
import { ProbeCache, remoteGatewayCheck, upstreamsCheck } from './health-gateway.js';
import { withSecretFiles } from './secret-files.js';

/** Longest one provider call or one tool server's start and listing may take. */
const CALL_TIMEOUT_MS = 8_000;

const silent = pino({ level: 'silent' });

function agentWorkflows(project: Project): string[] {
  return [...project.workflows.values()].filter((wf) => [...wf.steps.values()].some((s) => s.kind === 'agent')).map((wf) => wf.name);
}

/** The environment a process would read provider keys and tool secrets from (with `NAME_FILE`s). */
function secretEnv(ctx: DoctorContext): NodeJS.ProcessEnv {
  return withSecretFiles(ctx.options.env, ctx.config.projectDir).env;
}

/** One 1-token chat call to each provider, on the first model a group routes to it; the failures, by provider. */
async function callEachProvider(
  project: Project & { gateway: NonNullable<Project['gateway']> },
  env: NodeJS.ProcessEnv,
): Promise<{ ok: string[]; failed: string[] }> {
  const resolved = resolveGatewaySpec(project.gateway, env);
  const ok: string[] = [];
  const failed: string[] = [];
  const gateway = new Gateway({ spec: project.gateway, env, logger: silent, ledger: new InMemoryUsageLedger() });
  await Promise.all(
    [...resolved.providers.values()].map(async (config) => {
      const target = [...resolved.groups.values()].flatMap((g) => g.targets).find((t) => t.provider === config.name);
      if (target === undefined) return;
      const provider = createProvider(config);
      try {
        await provider.chat(
          target.model,
          { model: target.model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 },
          { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), timeoutMs: CALL_TIMEOUT_MS },
        );
        ok.push(`${config.name} (${target.model})`);
      } catch (error) {
        failed.push(`${config.name} (${target.model}): ${gateway.redact(error instanceof Error ? error.message : String(error))}`);
      }
    }),
  );
  return { ok, failed };
}

async function providersCheck(ctx: DoctorContext): Promise<Outcome> {
  const config = ctx.config;
  const project = await ctx.project();
  const users = agentWorkflows(project);
  if (config.gateway !== undefined) return { status: 'ok', detail: await remoteGatewayCheck(config.gateway.url, users, new ProbeCache(0)) };
  const spec = project.gateway;
  if (spec === undefined) {
    if (users.length > 0) return { status: 'fail', detail: `workflows with agent steps (${users.join(', ')}) but no gateway.yaml and no AGENTRY_GATEWAY_URL` };
    return { status: 'skip', detail: 'skipped: no gateway configured (no gateway.yaml, no AGENTRY_GATEWAY_URL) and no workflow has agent steps' };
  }
  const env = secretEnv(ctx);
  if (ctx.options.providers !== true) {
    const gateway = new Gateway({ spec, env, logger: silent, ledger: new InMemoryUsageLedger() });
    const detail = await upstreamsCheck(gateway.upstreams(), new ProbeCache(0));
    return {
      status: detail.includes('degraded') ? 'warn' : 'ok',
      detail: `${detail} (keys set, base URLs reachable; pass --providers for a 1-token call to each)`,
    };
  }
  const { ok, failed } = await callEachProvider({ ...project, gateway: spec }, env);
  if (failed.length > 0)
    return { status: 'fail', detail: `${failed.length} of ${ok.length + failed.length} providers failed a 1-token call: ${failed.join('; ')}` };
  return { status: 'ok', detail: `each provider answered a 1-token call: ${ok.join(', ')}` };
}

async function toolsCheck(ctx: DoctorContext): Promise<Outcome> {
  const config = ctx.config;
  const project = await ctx.project();
  if (project.tools.size === 0) return { status: 'skip', detail: 'skipped: no tool servers configured (tools/*.yaml)' };
  const names = [...project.tools.keys()];
  if (ctx.options.tools !== true) return { status: 'skip', detail: `skipped: pass --tools to start each of ${names.join(', ')} and list its tools` };
  const egress = { mode: config.env, allowLinkLocal: config.http.allowLinkLocal, project: project.settings.egress };
  const hub = createToolHub({ specs: project.tools, env: secretEnv(ctx), projectDir: project.dir, logger: silent, egress });
  try {
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          const tools = await hub.listTools(name, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), timeoutMs: CALL_TIMEOUT_MS });
          return { name, ok: true, text: `${name} (${tools.length} tool${tools.length === 1 ? '' : 's'})` };
        } catch (error) {
          return { name, ok: false, text: `${name}: ${error instanceof Error ? error.message : String(error)}` };
        }
      }),
    );
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0)
      return { status: 'fail', detail: `${failed.length} of ${names.length} tool servers did not start: ${failed.map((r) => r.text).join('; ')}` };
    return { status: 'ok', detail: `each tool server started and listed its tools: ${results.map((r) => r.text).join(', ')}` };
  } finally {
    await hub.close();
  }
}

export const UPSTREAM_CHECKS: readonly CheckDefinition[] = [
  {
    id: 'providers',
    title: 'Gateway providers reachable',
    docs: 'docs/gateway.md#providers',
    hint: "set each provider's key variable and check its base_url answers from this host",
    timeoutMs: 15_000,
    run: providersCheck,
  },
  {
    id: 'tools',
    title: 'Tool servers start',
    docs: 'docs/tools.md#how-a-server-runs',
    hint: 'run the failing server by hand with its command and env to see why; check its secrets and egress',
    timeoutMs: 20_000,
    run: toolsCheck,
  },
];
