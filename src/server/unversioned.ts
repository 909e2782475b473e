/**
 * Unversioned paths are aliases of the current API version: `GET /runs/{id}` is
 * `GET /v1/runs/{id}`, the same route with the same auth, scopes, limits and body. A client
 * written before it used the version prefix, or one that puts the version in its base URL
 * the other way round, keeps working; the OpenAPI document lists only `/v1`.
 *
 * The URL is rewritten before routing (Fastify's `rewriteUrl`), so nothing downstream sees a
 * difference. Only a first path segment that names a `/v1` resource and no root route is
 * rewritten: `/ui/`, `/healthz`, `/metrics`, `/docs` and `/openapi.json` stay what they are.
 */
import type { AppRoute } from './app-state.js';

const VERSION = '/v1';
const FIRST_SEGMENT = /^\/([A-Za-z0-9_.-]+)(?=[/?]|$)/;

export interface UnversionedAliases {
  /** The URL to route `url` as. */
  rewrite(url: string): string;
}

/** Aliases over `routes`, read when the first request comes (every route is registered by then). */
export function unversionedAliases(routes: readonly AppRoute[]): UnversionedAliases {
  let known: { count: number; versioned: Set<string> } | undefined;
  const versioned = (): Set<string> => {
    if (known?.count === routes.length) return known.versioned;
    const underVersion = new Set<string>();
    const atRoot = new Set<string>();
    for (const route of routes) {
      const versionedUrl = route.url.startsWith(`${VERSION}/`);
      const segment = FIRST_SEGMENT.exec(versionedUrl ? route.url.slice(VERSION.length) : route.url)?.[1];
      if (segment !== undefined) (versionedUrl ? underVersion : atRoot).add(segment);
    }
    for (const segment of atRoot) underVersion.delete(segment);
    underVersion.delete(VERSION.slice(1));
    known = { count: routes.length, versioned: underVersion };
    return underVersion;
  };
  return {
    rewrite(url) {
      const segment = FIRST_SEGMENT.exec(url)?.[1];
      return segment !== undefined && versioned().has(segment) ? `${VERSION}${url}` : url;
    },
  };
}
