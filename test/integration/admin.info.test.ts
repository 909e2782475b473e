/**
 * `GET /v1/admin/info` and `agentry admin info` (STO-20): which build, database and schema a
 * process runs on, named the same way as its startup log line (`store.opened`) — the store's
 * kind, its location without the password (the PostgreSQL URL here has one), its schema version
 * — with the process's roles and tenancy. Locally the CLI reads the same from the store.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { redactorFor } from '../../src/app/secrets.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.js';
import { runCliInProcess } from '../helpers/cli.js';
import { captureLogs } from '../helpers/log-capture.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const PASSWORD = 'info-db-pass-7c1e9a';
const ADMIN_KEY = 'info-admin-key-0123456789';

const backends = [
  { name: 'sqlite', database: (dir: string) => Promise.resolve({ url: `sqlite:${join(dir, 'agentry.db')}`, drop: () => Promise.resolve() }) },
  ...(hasPostgres
    ? [
        {
          name: 'postgres',
          // The server trusts local connections: the password is sent, never checked.
          database: async () => {
            const db = await createTestDatabase();
            const url = new URL(db.url);
            url.password = PASSWORD;
            return { url: url.href, drop: db.drop };
          },
        },
      ]
    : []),
];

interface Info {
  version: string;
  node: string;
  store: { kind: string; location: string; schema_version: number; latest: number };
  roles: string[];
  tenancy: { mode: string; tenant: string };
  uptime_s: number;
}

describe.each(backends)('admin info ($name)', { timeout: 60_000 }, (backend) => {
  const { dir, remove } = tempDir('agentry-info-');
  const cleanups: (() => Promise<void> | void)[] = [remove];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it('names the store as the startup log does, without the password; the CLI reads the same', async () => {
    mkdirSync(join(dir, 'workflows'), { recursive: true });
    writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: info\n');
    const db = await backend.database(dir);
    cleanups.push(db.drop);
    const env = { AGENTRY_PROJECT_DIR: dir, AGENTRY_DATABASE_URL: db.url, AGENTRY_API_KEYS: `ops:${ADMIN_KEY}:admin`, AGENTRY_AUTO_MIGRATE: 'true' };
    const config = loadConfig({ flags: { projectDir: dir, port: 0 }, env, cwd: dir });
    const logs = captureLogs('info');
    const server = await startServer(config, logs.logger, env, await loadProjectOrThrow(config, env), { redactor: redactorFor(config) });
    try {
      const response = await fetch(`${server.url}/v1/admin/info`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain(PASSWORD);
      const info = JSON.parse(text) as Info;
      expect(info).toMatchObject({
        node: process.versions.node,
        store: { kind: backend.name, schema_version: LATEST_SCHEMA_VERSION, latest: LATEST_SCHEMA_VERSION },
        roles: ['api', 'scheduler', 'worker'],
        tenancy: { mode: 'single', tenant: 'default' },
      });
      expect(info.store.location).toMatch(backend.name === 'sqlite' ? /^sqlite:\/.*agentry\.db$/ : /^postgres:\/\/postgres@127\.0\.0\.1:5432\/agentry_t_/);

      // The startup line names the store the same way.
      const opened = logs.lines.find((l) => l.event === 'store.opened');
      expect(opened).toMatchObject({ store: info.store.location, store_kind: backend.name, schema_version: info.store.schema_version });
      expect(logs.raw.join('\n')).not.toContain(PASSWORD);

      // The CLI: through the server, and on the store itself.
      const remote = await runCliInProcess(['admin', 'info', '--json'], { env: { AGENTRY_URL: server.url, AGENTRY_API_KEY: ADMIN_KEY } });
      expect(remote.code, remote.stderr).toBe(0);
      expect((JSON.parse(remote.stdout) as Info).store).toEqual(info.store);
      const local = await runCliInProcess(['admin', 'info', '--json'], { env });
      expect(local.code, local.stderr).toBe(0);
      expect(local.stdout).not.toContain(PASSWORD);
      expect(JSON.parse(local.stdout)).toMatchObject({ store: info.store, roles: [] });
      const human = await runCliInProcess(['admin', 'info'], { env });
      expect(human.stdout).toContain(`Store: ${backend.name} ${info.store.location}, schema ${LATEST_SCHEMA_VERSION} (latest)`);
    } finally {
      await server.close();
    }
  });
});
