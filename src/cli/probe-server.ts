/**
 * The probe port of the roles without the API (`agentry start worker|scheduler|gateway`):
 * `/livez`, `/readyz`, `/healthz`, `/metrics` and the API description — the `probes` route
 * group of the same Fastify app the API serves, over the process's opened Agentry and its one
 * `Metrics`. Bound to `AGENTRY_HOST` on `AGENTRY_PROBE_PORT` (default 7702; 0: a free port,
 * logged; `off`: none). Loaded only by a process that serves it, so a worker without one never
 * loads Fastify.
 */
import type { Logger } from 'pino';
import type { Agentry, EngineRole } from '../app/bootstrap.js';
import type { Config } from '../app/config.js';
import { buildApp, drainAndClose } from '../server/app.js';
import { appOptions, serverAuth } from '../server/compose.js';
import { listenOn } from './listen.js';

export interface ProbeServer {
  /** Base URL (`http://127.0.0.1:7702`). */
  url: string;
  close(): Promise<void>;
}

/** Serves the probes of `agentry` on the configured probe port; undefined when it is `off`. */
export async function startProbeServer(
  agentry: Agentry,
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  roles: readonly EngineRole[],
): Promise<ProbeServer | undefined> {
  const port = config.probe.port;
  if (port === undefined) return undefined;
  const { host } = config.server;
  const app = await buildApp({ ...appOptions(agentry, config, logger, env, serverAuth(config)), groups: ['probes'], roles, docs: false });
  let url: string;
  try {
    url = await listenOn(app, host, port, '--probe-port <port> / AGENTRY_PROBE_PORT (each process on this host needs its own; 0 for any free port, or off)');
  } catch (error) {
    await app.close();
    throw error;
  }
  logger.info({ probe_url: url }, `probes and /metrics on ${url}`);
  return { url, close: () => drainAndClose(app, 500) };
}
