/** The store as the gateway's response cache (`gateway/cache.ts`), with expired answers pruned as it goes. */
import type { ResponseCache } from '../gateway/cache.js';
import type { ChatResponse } from '../gateway/types.js';
import type { Store } from '../store/store.js';

/** How often a process deletes the expired answers (at most; on its next store). */
const PRUNE_EVERY_MS = 600_000;

export function storeResponseCache(store: Pick<Store, 'cacheGet' | 'cachePut' | 'pruneCache'>): ResponseCache {
  let nextPrune = 0;
  return {
    get: async (tenantId, key, now) => (await store.cacheGet(tenantId, key, now)) as ChatResponse | undefined,
    async put(tenantId, key, response, now, expiresAt) {
      await store.cachePut(tenantId, key, response, now, expiresAt);
      if (now >= nextPrune) {
        nextPrune = now + PRUNE_EVERY_MS;
        void store.pruneCache(now).catch(() => undefined);
      }
    },
  };
}
