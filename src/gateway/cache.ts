/**
 * The exact-match response cache of a model group (gateway.yaml `cache: { ttl }`): a
 * non-streaming chat completion asked again by the same tenant with the same normalised request
 * (messages, tools, parameters; key order and the `stream`/`user` fields do not matter) within
 * the TTL is answered from the cache — no upstream call, recorded in the ledger at cost 0 with
 * `cacheHit`. Requests offering tools are never cached unless the group says they are safe
 * (`tools_safe`). The cache lives where the gateway's owner puts it (the store:
 * `app/response-cache.ts`); when it fails, the call goes upstream and a warning is logged.
 */
import { createHash } from 'node:crypto';
import type { ResolvedGroup } from './config.js';
import type { ChatRequest, ChatResponse } from './types.js';

export interface ResponseCache {
  /** The live answer stored under `key` for `tenantId` at `now`, if any. */
  get(tenantId: string, key: string, now: number): Promise<ChatResponse | undefined>;
  /** Stores (or replaces) an answer until `expiresAt`. */
  put(tenantId: string, key: string, response: ChatResponse, now: number, expiresAt: number): Promise<void>;
}

/** Fields that do not change the answer. */
const IGNORED = new Set(['stream', 'stream_options', 'user', 'metadata']);

/** Whether the group caches this request: the group has a cache, and the request offers no tools unless the group marks them safe. */
export function cacheable(group: ResolvedGroup, request: ChatRequest): boolean {
  if (group.cache === undefined) return false;
  return group.cache.toolsSafe || request.tools === undefined || request.tools.length === 0;
}

/** The cache key of a request: a SHA-256 of its canonical JSON (keys sorted, ignored fields left out). */
export function cacheKey(request: ChatRequest): string {
  const body = Object.fromEntries(Object.entries(request).filter(([k, v]) => !IGNORED.has(k) && v !== undefined));
  return createHash('sha256').update(canonical(body)).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CachedChatDeps {
  cache: ResponseCache;
  ttlMs: number;
  now: () => number;
  /** A warning that the cache failed (the call goes on without it). */
  warn: (error: unknown, operation: 'get' | 'put') => void;
  /** The call without the cache: retries, fallbacks, budgets, the ledger. */
  upstream: () => Promise<ChatResponse>;
  /** Records an answer served from the cache (cost 0); returns its call id and provider. */
  recordHit: (hit: ChatResponse, at: number) => Promise<{ id: string; provider: string }>;
}

/** A chat completion through the cache: a live entry answers (`cache: 'hit'`); otherwise the upstream answers and is stored (`'miss'`). */
export async function cachedChat(deps: CachedChatDeps, tenantId: string, request: ChatRequest, group: string): Promise<ChatResponse> {
  const key = cacheKey(request);
  const at = deps.now();
  let hit: ChatResponse | undefined;
  try {
    hit = await deps.cache.get(tenantId, key, at);
  } catch (error) {
    deps.warn(error, 'get');
  }
  if (hit !== undefined) {
    const record = await deps.recordHit(hit, at);
    return { ...hit, agentry: { call_id: record.id, group, provider: record.provider, cost_usd: 0, cache: 'hit' } };
  }
  const response = await deps.upstream();
  try {
    const stored = deps.now();
    await deps.cache.put(tenantId, key, response, stored, stored + deps.ttlMs);
  } catch (error) {
    deps.warn(error, 'put');
  }
  return { ...response, ...(response.agentry === undefined ? {} : { agentry: { ...response.agentry, cache: 'miss' as const } }) };
}
