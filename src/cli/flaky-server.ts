/**
 * The demo's "flaky upstream": a tiny local HTTP service that answers 503 to the first request
 * for a name and 200 with a JSON profile afterwards, so a step with `retry:` visibly recovers.
 * Tests use it too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Requests seen, in order (`<status> <name>`). */
  log: string[];
  close(): Promise<void>;
}

export async function startFlakyServer(): Promise<FlakyServer> {
  const seen = new Map<string, number>();
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const name = url.searchParams.get('name') ?? url.pathname.split('/').filter(Boolean).at(-1) ?? 'anonymous';
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    res.setHeader('content-type', 'application/json');
    if (count === 1) {
      log.push(`503 ${name}`);
      res.statusCode = 503;
      res.end(JSON.stringify({ error: 'profile service is warming up, try again' }));
      return;
    }
    log.push(`200 ${name}`);
    const first = name.split(/\s+/)[0] ?? name;
    res.end(JSON.stringify({ name, display_name: first, member_since: '2024-03-14', plan: count % 2 === 0 ? 'team' : 'solo', requests: count }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
