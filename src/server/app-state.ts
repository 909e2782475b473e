/**
 * What `buildApp` keeps about each app it built: its route table (`routesOf`: the source of the
 * route × role test and OpenAPI), every route Fastify registered (`appRoutesOf`), and whether it
 * is draining; `drainAndClose` stops it gracefully.
 */
import { Server as NetServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pause } from '../lib/sleep.js';
import type { RouteDef, RouteTable } from './route.js';

export interface AppRoute {
  method: string;
  url: string;
  hidden: boolean;
}

export interface AppState {
  table: RouteTable;
  /** The probes' routes (`/livez`, `/readyz`, `/metrics`, …): never rate-limited. */
  probes: ReadonlySet<RouteDef>;
  all: AppRoute[];
  closing: AbortController;
  draining: boolean;
}

const states = new WeakMap<FastifyInstance, AppState>();

/** Keeps `state` as the state of `app`. */
export function trackApp(app: FastifyInstance, state: AppState): void {
  states.set(app, state);
}

/** The route table of an app built by `buildApp` (the source of the auth matrix and OpenAPI). */
export function routesOf(app: FastifyInstance): readonly RouteDef[] {
  return states.get(app)?.table.routes ?? [];
}

/** Every route Fastify registered (table routes and the docs UI's, which are hidden). */
export function appRoutesOf(app: FastifyInstance): readonly AppRoute[] {
  return states.get(app)?.all ?? [];
}

/**
 * Stops the app gracefully: stop accepting connections, let every accepted connection send its
 * request and get its answer (with `Connection: close`) for up to `drainMs`, end event streams
 * and waits, then close. (`http.Server#close` alone would also destroy accepted connections
 * whose request has not arrived yet, which their clients see as a reset.)
 */
export async function drainAndClose(app: FastifyInstance, drainMs = 2_000): Promise<void> {
  const state = states.get(app);
  if (state && app.server.listening) {
    state.draining = true;
    state.closing.abort();
    NetServer.prototype.close.call(app.server);
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline) {
      const open = await new Promise<number>((resolve) => app.server.getConnections((error, count) => resolve(error ? 0 : count)));
      if (open === 0) break;
      await pause(20);
    }
  }
  await app.close();
}
