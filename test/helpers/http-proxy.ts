/**
 * A TCP proxy on loopback in front of an HTTP server that can lose answers on purpose: `dropNext`
 * lets the next request whose first line starts with a prefix reach the server, then cuts the
 * client's connection when the answer starts (the server did the work; the client never hears of
 * it), and `cut()` resets every open connection (an event stream dropped mid-way). `requests`
 * holds each request's head as the server received it (request line and headers).
 *
 *   const proxy = await startHttpProxy(serverPort);
 *   proxy.dropNext('POST /v1/workflows/');
 */
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface HttpProxy {
  readonly url: string;
  /** Request heads seen, in order. */
  readonly requests: string[];
  dropNext(prefix: string): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startHttpProxy(targetPort: number): Promise<HttpProxy> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let drop: string | undefined;
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    let dropping = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      const head = /^[A-Z]+ \S+ HTTP\/1\.1\r\n[\s\S]*?\r\n\r\n/.exec(text)?.[0];
      if (head !== undefined) {
        requests.push(head);
        if (drop !== undefined && head.startsWith(drop)) {
          drop = undefined;
          dropping = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropping) client.destroy();
      else client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    dropNext(prefix) {
      drop = prefix;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
