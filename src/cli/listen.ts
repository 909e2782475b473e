/** Listening on a port, with a taken port reported as `port_in_use` (naming it) rather than a bare EADDRINUSE. */
import type { FastifyInstance } from 'fastify';
import { AgentryError } from '../lib/errors.js';

/**
 * `app.listen`, refusing a taken port with `port_in_use`: "port 7700 already in use on
 * 127.0.0.1", how to find who holds it and how to choose another (`how`, e.g. `--port <port> /
 * AGENTRY_PORT`). Any other failure is rethrown as it is.
 */
export async function listenOn(app: FastifyInstance, host: string, port: number, how: string): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new AgentryError(
      'port_in_use',
      `port ${port} already in use on ${host}: another process listens there (find it with \`ss -ltnp 'sport = :${port}'\` or \`lsof -i :${port}\`); ` +
        `stop it, or choose another port with ${how}`,
      { cause: error, details: { host, port } },
    );
  }
}
