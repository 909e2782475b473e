/**
 * Readiness on the LLM side, without ever calling a model or spending a token: a gateway
 * process's upstreams (each provider's key variable is set and, for a provider at a configured
 * `base_url`, a TCP connection to it opens), and for a process that calls a gateway process,
 * that process answering `/livez`. Outcomes are remembered for a few seconds (`ProbeCache`), so
 * a probe every second costs one connection per upstream per period, and a recovered upstream
 * shows within that period, with no restart.
 */
import { connect } from 'node:net';
import type { UpstreamInfo } from '../gateway/gateway.js';
import { maskSecrets } from '../lib/redact.js';

/** How long a probe's outcome is reused (`AppOptions.health.cacheMs`). */
export const PROBE_CACHE_MS = 5_000;
/** Longest a TCP connect or a `/livez` call may take (well inside the readiness check's 2 s). */
const PROBE_TIMEOUT_MS = 1_000;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Why a probe failed, in a few words: the socket error's code when there is one. */
function reason(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Remembers each probe's outcome (undefined: ok; else what failed) for `ttlMs`; a probe in flight is shared. */
export class ProbeCache {
  private readonly entries = new Map<string, { at: number; outcome: Promise<string | undefined> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  outcome(key: string, probe: () => Promise<void>): Promise<string | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.outcome;
    const outcome = probe().then(
      () => undefined,
      (error: unknown) => reason(error),
    );
    this.entries.set(key, { at: this.now(), outcome });
    return outcome;
  }
}

/** Resolves once a TCP connection to the URL's host and port opens (then closes it); rejects with the socket's error or a timeout. */
function openConnection(url: URL): Promise<void> {
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${PROBE_TIMEOUT_MS}ms`)), PROBE_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** What is wrong with one upstream, or undefined when nothing is (a `mock` never fails). */
async function upstreamProblem(upstream: UpstreamInfo, cache: ProbeCache): Promise<string | undefined> {
  if (upstream.type === 'mock') return undefined;
  const where = `${upstream.type}${upstream.baseUrl === undefined ? '' : ` at ${upstream.baseUrl}`}`;
  if (upstream.keyMissing) return `${where}: its key env.${upstream.apiKeyEnv ?? '?'} is not set`;
  // A provider's public endpoint is not dialled: only a base URL the operator runs is.
  if (!upstream.baseUrlConfigured || upstream.baseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(upstream.baseUrl);
  } catch {
    return `${where}: base_url is not a URL`;
  }
  const problem = await cache.outcome(`tcp ${url.host}`, () => openConnection(url));
  return problem === undefined ? undefined : `${where}: unreachable (${problem})`;
}

/**
 * A gateway process's upstreams. It fails when a model group has no usable target left (every
 * provider it routes to is unreachable or lacks its key), naming each failing provider and its
 * groups; a provider that is down while its groups can still fall back is named in the detail
 * of an ok check (degraded), so one provider's outage does not take the whole gateway out of
 * its load balancer.
 */
export async function upstreamsCheck(upstreams: readonly UpstreamInfo[], cache: ProbeCache): Promise<string> {
  const problems = new Map<string, string>();
  await Promise.all(
    upstreams.map(async (u) => {
      const problem = await upstreamProblem(u, cache);
      if (problem !== undefined) problems.set(u.name, problem);
    }),
  );
  const groups = new Map<string, string[]>();
  for (const u of upstreams) for (const g of u.groups) groups.set(g, [...(groups.get(g) ?? []), u.name]);
  const down = [...groups].filter(([, providers]) => providers.every((p) => problems.has(p))).map(([g]) => `'${g}'`);
  const named = upstreams
    .filter((u) => problems.has(u.name))
    .map((u) => `provider '${u.name}' (${problems.get(u.name)!}; model groups: ${u.groups.join(', ') || 'none'})`);
  if (down.length > 0) {
    throw new Error(`model group${down.length === 1 ? '' : 's'} ${down.join(', ')} ha${down.length === 1 ? 's' : 've'} no usable target: ${named.join('; ')}`);
  }
  const ok = `${plural(upstreams.length - problems.size, 'provider')} ok, ${plural(groups.size, 'model group')} served`;
  return problems.size === 0 ? ok : `${ok}; degraded (their groups fall back): ${named.join('; ')}`;
}

/** GET `<url>/livez` answers 2xx within the probe timeout. */
async function answersLivez(url: string): Promise<void> {
  const res = await fetch(`${url}/livez`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), headers: { connection: 'close' } });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/**
 * A gateway process this one calls (`AGENTRY_GATEWAY_URL`): when a workflow has agent steps it
 * must answer `/livez` (its liveness, not its readiness: one upstream down there need not take
 * every worker out); without agent steps it is not dialled.
 */
export async function remoteGatewayCheck(url: string, agentWorkflows: readonly string[], cache: ProbeCache): Promise<string> {
  const shown = maskSecrets(url);
  if (agentWorkflows.length === 0) return `remote: ${shown} (not probed: no workflow has agent steps)`;
  const problem = await cache.outcome(`livez ${url}`, () => answersLivez(url));
  if (problem !== undefined)
    throw new Error(`the gateway at ${shown} does not answer /livez (${problem}); workflows with agent steps: ${agentWorkflows.join(', ')}`);
  return `remote: ${shown} answers /livez`;
}
