/**
 * A project with two linked plugins for the server's plugin routes: `echo` (a route of every
 * method, answering what it was sent and the caller's tenant) and `boom` (throws on every call).
 * Both in-process (a worker thread each), with no permissions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginManager } from '../../src/app/plugins.js';
import { REPO, tempDir } from './cli.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

const ECHO = `
const echo = (request, ctx) => ({ status: request.method === 'POST' ? 201 : 200, headers: { 'x-plugin': 'echo' }, body: { method: request.method, path: request.path, query: request.query, body: request.body, tenant: ctx.tenantId ?? null, saw_authorization: 'authorization' in request.headers } });
export default { routes: { ${METHODS.map((m) => `'${m} /echo': echo`).join(', ')} } };
`;

const BOOM = `
export default { routes: { 'GET /boom': () => { throw new Error('boom on every call'); } } };
`;

function writePlugin(dir: string, name: string, source: string, routes: Array<{ method: string; path: string }>): string {
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  writeFileSync(join(at, 'index.js'), source);
  writeFileSync(join(at, 'agentry-plugin.json'), JSON.stringify({ name, version: '0.1.0', mode: 'in-process', adds: { routes }, permissions: {} }));
  return at;
}

/** Writes the plugins into `project` (a new temp dir by default) and links them (plus, with `weather`, the example plugin) in its lock. */
export async function pluginProject(options: { project?: string; weather?: boolean } = {}): Promise<string> {
  const project = options.project ?? tempDir('agentry-plugin-api-');
  const sources = join(project, 'plugin-src');
  const manager = new PluginManager({ projectDir: project, registry: 'http://127.0.0.1:9/' });
  const accept = (): Promise<boolean> => Promise.resolve(true);
  await manager.link(
    writePlugin(
      sources,
      'echo',
      ECHO,
      METHODS.map((method) => ({ method, path: '/echo' })),
    ),
    accept,
  );
  await manager.link(writePlugin(sources, 'boom', BOOM, [{ method: 'GET', path: '/boom' }]), accept);
  if (options.weather === true) await manager.link(join(REPO, 'examples/plugins/weather'), accept);
  return project;
}
