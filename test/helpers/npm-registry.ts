/**
 * A small npm registry on loopback for the plugin tests: serves a packument and a tarball per
 * published version (`publish` packs a directory the way `npm pack` does, under `package/`),
 * and counts the requests it got. `corrupt` makes a version's tarball differ from its integrity.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tar from 'tar';

interface Published {
  tarball: Buffer;
  integrity: string;
}

export interface RegistryStub {
  url: string;
  publish(name: string, version: string, dir: string): Promise<void>;
  /** Serves other bytes for this version's tarball than its integrity says. */
  corrupt(name: string, version: string): void;
  requests: string[];
  close(): Promise<void>;
}

export async function packDir(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, prefix: 'package/', portable: true }, readdirSync(dir));
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function startRegistryStub(): Promise<RegistryStub> {
  const packages = new Map<string, Map<string, Published>>();
  const requests: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(path);
    // No keep-alive: the CLI runs in the test's process, whose fetch would keep the socket open.
    res.setHeader('connection', 'close');
    if (path === '/-/ping') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const tarballMatch = /^\/(.+)\/-\/[^/]+-(\d+\.\d+\.\d+[^/]*)\.tgz$/.exec(path);
    if (tarballMatch !== null) {
      const published = packages.get(tarballMatch[1]!)?.get(tarballMatch[2]!);
      if (published === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(published.tarball);
      return;
    }
    const name = path.slice(1);
    const versions = packages.get(name);
    if (versions === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const base = name.split('/').pop()!;
    const body = {
      name,
      'dist-tags': { latest: [...versions.keys()].pop() },
      versions: Object.fromEntries(
        [...versions.entries()].map(([version, p]) => [
          version,
          { name, version, dist: { tarball: `${url}/${name}/-/${base}-${version}.tgz`, integrity: p.integrity } },
        ]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    async publish(name, version, dir) {
      const tarball = await packDir(dir);
      const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
      if (!packages.has(name)) packages.set(name, new Map());
      packages.get(name)!.set(version, { tarball, integrity });
    },
    corrupt(name, version) {
      const published = packages.get(name)?.get(version);
      if (published !== undefined) published.tarball = Buffer.concat([published.tarball, Buffer.from('tampered')]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
