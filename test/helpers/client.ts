/**
 * A `fetch` for the typed client in tests: undici's, over a connection pool that is new for each
 * test and closed after it, so the leak guard sees no keep-alive socket left open. Call
 * `useClientPool()` at the top of a test file, then pass `poolFetch` as the client's `fetch`.
 */
import { afterEach, beforeEach } from 'vitest';
import { Agent, fetch } from 'undici';
import type { FetchLike } from '../../src/client/index.js';

let agent: Agent | undefined;

export function useClientPool(): void {
  beforeEach(() => {
    agent = new Agent();
  });
  afterEach(async () => {
    await agent?.close();
    agent = undefined;
  });
}

export const poolFetch: FetchLike = (input, init) => {
  agent ??= new Agent();
  return fetch(input, { ...(init as object), dispatcher: agent });
};
