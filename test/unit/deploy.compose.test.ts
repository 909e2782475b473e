/**
 * deploy/compose.yaml: the split-role stack on one host. Its dependency graph (every role after
 * PostgreSQL is healthy and the migrations completed; the API and the workers after the gateway
 * is healthy), each role's command, ports and health
 * check (the check's own script, run against a local server), secrets only as `<VAR>_FILE` files
 * that deploy/make-secrets.sh writes and .env.example documents, and production mode accepting
 * each role's configuration as compose gives it. `docker-compose config` (and `docker compose
 * config`) must accept the file when the binary is there; the processes themselves run in
 * test/e2e/deploy.compose-processes.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_OPTIONS } from '../../src/app/config-options.js';
import { validateConfiguration } from '../../src/app/config-validate.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/engine/engine-options.js';
import { parseDuration } from '../../src/lib/duration.js';
import { POSTGRES_DEFAULTS } from '../../src/store/database-url.js';
import { COMPOSE_FILE, loadCompose, readEnvFile, startOrder, type ComposeService } from '../helpers/compose.js';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');
const ENV_EXAMPLE = join(DEPLOY, '.env.example');
const MAKE_SECRETS = join(DEPLOY, 'make-secrets.sh');
const ROLES = ['api', 'worker-1', 'worker-2', 'scheduler', 'gateway'] as const;
/** The port each role's health check probes, and the probe ports of deploy/systemd. */
const HEALTH_PORT: Record<(typeof ROLES)[number], number> = { api: 7700, 'worker-1': 7702, 'worker-2': 7702, scheduler: 7703, gateway: 7701 };

const model = loadCompose();
const role = (name: string): ComposeService => {
  const svc = model.services[name];
  if (!svc) throw new Error(`no service ${name} in deploy/compose.yaml`);
  return svc;
};
/** Secret options' variables (those that accept `<VAR>_FILE`). */
const SECRET_VARS = new Set<string>(Object.values(CONFIG_OPTIONS).flatMap((spec) => ('secret' in spec && spec.secret === true ? [spec.env] : [])));

function hasBinary(command: string, args: string[]): boolean {
  return spawnSync(command, args, { encoding: 'utf8' }).status === 0;
}

/** The port an Agentry role listens on for its health check: `--port`, AGENTRY_PORT (api) or AGENTRY_PROBE_PORT. */
function listenPort(svc: ComposeService): number {
  const flag = svc.command.indexOf('--port');
  if (flag >= 0) return Number(svc.command[flag + 1]);
  return Number(svc.command[1] === 'api' ? svc.environment.AGENTRY_PORT : svc.environment.AGENTRY_PROBE_PORT);
}

describe('deploy/compose.yaml', () => {
  it('runs PostgreSQL, the migrations once, the API, two workers, the scheduler and the gateway', () => {
    expect(Object.keys(model.services).sort()).toEqual(['api', 'gateway', 'migrate', 'postgres', 'scheduler', 'worker-1', 'worker-2']);
    expect(role('migrate').command).toEqual(['migrate', 'up']);
    expect(role('migrate').restart).toBe('no');
    expect(role('api').command).toEqual(['start', 'api']);
    // The scheduler service runs the sweeps; workers only execute steps.
    expect(role('worker-1').command).toEqual(['start', 'worker', '--no-scheduler']);
    expect(role('worker-2').command).toEqual(role('worker-1').command);
    expect(role('scheduler').command).toEqual(['start', 'scheduler']);
    expect(role('gateway').command).toEqual(['start', 'gateway', '--port', '7701']);
    for (const name of ['migrate', ...ROLES]) {
      expect(role(name).image, name).toBe('agentry:local');
      expect(role(name).raw.build, name).toBe('..');
      expect(role(name).environment.AGENTRY_PROJECT_DIR, name).toBe('/srv/agentry/project');
      expect(role(name).volumes, name).toContainEqual({ source: join(DEPLOY, 'project'), target: '/srv/agentry/project', readOnly: true });
    }
    for (const name of ROLES) {
      expect(role(name).environment.AGENTRY_ENV, name).toBe('production');
      expect(role(name).restart, name).toBe('unless-stopped');
      expect(role(name).raw.read_only, name).toBe(true);
      expect(role(name).raw.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('starts every role after PostgreSQL is healthy and the migrations completed, the API and the workers after a healthy gateway', () => {
    expect(role('migrate').dependsOn).toEqual({ postgres: 'service_healthy' });
    const afterMigrations = { postgres: 'service_healthy', migrate: 'service_completed_successfully' };
    for (const name of ['gateway', 'scheduler']) expect(role(name).dependsOn, name).toEqual(afterMigrations);
    for (const name of ['api', 'worker-1', 'worker-2']) expect(role(name).dependsOn, name).toEqual({ ...afterMigrations, gateway: 'service_healthy' });
    const order = startOrder(model);
    expect(order.slice(0, 2)).toEqual(['postgres', 'migrate']);
    for (const name of ['api', 'worker-1', 'worker-2']) expect(order.indexOf(name), name).toBeGreaterThan(order.indexOf('gateway'));
    expect(role('postgres').healthcheck?.test).toEqual(['CMD', 'pg_isready', '-U', 'agentry', '-d', 'agentry']);
    // Every condition `service_healthy` names a service with a health check.
    for (const svc of Object.values(model.services))
      for (const [dep, condition] of Object.entries(svc.dependsOn))
        if (condition === 'service_healthy') expect(role(dep).healthcheck, `${svc.name} waits for ${dep}'s health`).toBeDefined();
  });

  it("checks each role's readiness on its own port, and publishes only the API and the gateway, on loopback", () => {
    for (const name of ROLES) {
      const svc = role(name);
      const test = svc.healthcheck?.test ?? [];
      expect(test.slice(0, 3), name).toEqual(['CMD', 'node', '-e']);
      expect(test[4], name).toBe(`http://127.0.0.1:${listenPort(svc)}/readyz`);
      expect(listenPort(svc), name).toBe(HEALTH_PORT[name]);
    }
    expect(role('api').environment.AGENTRY_PORT).toBe('7700');
    expect(role('gateway').environment.AGENTRY_PROBE_PORT).toBe('7704');
    expect(role('api').ports).toEqual([{ host: '127.0.0.1:7700', container: 7700 }]);
    expect(role('gateway').ports).toEqual([{ host: '127.0.0.1:7701', container: 7701 }]);
    for (const name of ['migrate', 'worker-1', 'worker-2', 'scheduler', 'postgres']) expect(role(name).ports, name).toEqual([]);
    // Workers and the API reach the gateway by its service name; the gateway itself refuses the setting.
    for (const name of ['api', 'worker-1', 'worker-2']) expect(role(name).environment.AGENTRY_GATEWAY_URL, name).toBe('http://gateway:7701');
    expect(role('gateway').environment.AGENTRY_GATEWAY_URL).toBeUndefined();
  });

  describe("the health check's script", () => {
    let server: Server | undefined;
    afterAll(() => server?.close());

    it('exits 0 on a 2xx answer, 1 on a 503 and 1 when nothing listens', async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === '/readyz' ? 200 : 503;
        res.end();
      });
      await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const script = role('api').healthcheck?.test[3] ?? '';
      expect(await probe(script, `${base}/readyz`)).toBe(0);
      expect(await probe(script, `${base}/livez`)).toBe(1);
      await new Promise<void>((done) => server!.close(() => done()));
      server = undefined;
      expect(await probe(script, `${base}/readyz`)).toBe(1);
    });
  });

  it('gives every secret as a <VAR>_FILE file that make-secrets.sh writes and .env.example documents', () => {
    const envExample = readFileSync(ENV_EXAMPLE, 'utf8');
    const script = readFileSync(MAKE_SECRETS, 'utf8');
    for (const svc of Object.values(model.services)) {
      for (const [name, value] of Object.entries(svc.environment)) {
        // No secret in the environment itself (empty, it gives way to the image's default to <VAR>_FILE).
        if (SECRET_VARS.has(name)) expect(value, `${svc.name}: ${name} is a secret; give it as ${name}_FILE`).toBe('');
        expect(name, svc.name).not.toMatch(/PASSWORD$|SECRET$|_KEY$/);
        if (!name.endsWith('_FILE')) continue;
        const base = name.slice(0, -'_FILE'.length);
        expect(SECRET_VARS.has(base) || (svc.name === 'postgres' && base === 'POSTGRES_PASSWORD'), `${svc.name}: ${name} names no secret option`).toBe(true);
        const secret = /^\/run\/secrets\/([a-z0-9-]+)$/.exec(value)?.[1];
        expect(secret, `${svc.name}: ${name}=${value}`).toBeDefined();
        expect(svc.secrets, `${svc.name} mounts ${secret}`).toContain(secret);
        expect(model.secrets[secret!], `top-level secret ${secret}`).toBe(join(DEPLOY, 'secrets', secret!));
        expect(script, `make-secrets.sh writes ${secret}`).toMatch(new RegExp(`^write ${secret} `, 'm'));
        expect(envExample, `.env.example documents ${name}`).toContain(`${name}=${value}`);
      }
      // The image sets AGENTRY_DATABASE_URL (SQLite on /data): with the _FILE it must be emptied, or the process stops.
      if (svc.environment.AGENTRY_DATABASE_URL_FILE !== undefined) expect(svc.environment.AGENTRY_DATABASE_URL, svc.name).toBe('');
      // A mounted secret is one the service reads.
      for (const secret of svc.secrets) expect(Object.values(svc.environment), `${svc.name} reads ${secret}`).toContain(`/run/secrets/${secret}`);
    }
    // Every secret file make-secrets.sh writes for compose is one compose mounts, and the generated ones stay out of git.
    expect(Object.keys(model.secrets).sort()).toEqual(['api-keys', 'database-url', 'internal-secret', 'postgres-password']);
    expect(readFileSync(resolve(DEPLOY, '../.gitignore'), 'utf8')).toMatch(/^deploy\/secrets\/$/m);
  });

  it('documents every variable it reads in .env.example, with the same defaults', () => {
    const example = readEnvFile(ENV_EXAMPLE);
    for (const [name, fallback] of model.variables) {
      expect(example, `.env.example sets ${name}`).toHaveProperty(name);
      expect(example[name], `${name}: .env.example and compose.yaml's default agree`).toBe(fallback);
    }
    for (const name of Object.keys(example)) if (name !== 'COMPOSE_PROJECT_NAME') expect(model.variables.has(name), `${name} is used`).toBe(true);
    // The example's values give the same file as no .env at all.
    expect(loadCompose(COMPOSE_FILE, example).raw).toEqual(model.raw);
  });

  it("stays within PostgreSQL's default max_connections", () => {
    // Each process: its pool and the wake-up listener. PostgreSQL's 100, less 3 for superusers and room for psql.
    const connections = ROLES.map((name) => Number(role(name).environment.AGENTRY_DB_POOL_SIZE ?? POSTGRES_DEFAULTS.poolSize) + 1).reduce((a, b) => a + b, 0);
    expect(connections).toBeLessThanOrEqual(90);
  });

  it('stops each role with more time than the shutdown grace its running steps get', () => {
    const grace = DEFAULT_ENGINE_SETTINGS.shutdownGraceMs;
    for (const name of ROLES) {
      const svc = role(name);
      const own = svc.environment.AGENTRY_SHUTDOWN_GRACE;
      const stop = parseDuration(svc.stopGracePeriod ?? '10s');
      expect(stop, name).toBeGreaterThanOrEqual((own === undefined ? grace : parseDuration(own)) + 5_000);
    }
  });

  describe('with the secrets make-secrets.sh generates', () => {
    const available = hasBinary('openssl', ['version']);
    if (!available) console.warn('deploy.compose.test.ts: openssl not found, skipping the make-secrets.sh tests');
    const dir = mkdtempSync(join(tmpdir(), 'agentry-compose-'));
    const secrets = join(dir, 'deploy/secrets');
    const makeSecrets = () => spawnSync('sh', [join(dir, 'deploy/make-secrets.sh')], { encoding: 'utf8' });
    let first: ReturnType<typeof makeSecrets> | undefined;
    beforeAll(() => {
      if (!available) return;
      mkdirSync(join(dir, 'deploy'));
      copyFileSync(MAKE_SECRETS, join(dir, 'deploy/make-secrets.sh'));
      first = makeSecrets();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.skipIf(!available)('writes each secret once, private to its folder and readable by the containers', () => {
      expect(first?.status, first?.stderr).toBe(0);
      const read = (name: string) => readFileSync(join(secrets, name), 'utf8').trim();
      expect(statSync(secrets).mode & 0o777).toBe(0o700);
      for (const name of Object.keys(model.secrets)) expect(statSync(join(secrets, name)).mode & 0o777, name).toBe(0o644);
      expect(read('database-url')).toBe(`postgres://agentry:${read('postgres-password')}@postgres:5432/agentry`);
      expect(read('api-keys')).toBe(`admin:${read('admin-key')}:admin;prometheus:${read('metrics-key')}:viewer`);
      expect(read('internal-secret')).toMatch(/^[0-9a-f]{64}$/);
      const before = read('api-keys');
      const again = makeSecrets();
      expect(again.status).toBe(0);
      expect(again.stdout).not.toContain('generated');
      expect(read('api-keys')).toBe(before);
    });

    it.skipIf(!available)("passes production mode's checks for each role as compose configures it", async () => {
      for (const name of ROLES) {
        const svc = role(name);
        const env: NodeJS.ProcessEnv = {};
        for (const [key, value] of Object.entries(svc.environment)) {
          env[key] = value.startsWith('/run/secrets/') ? join(secrets, value.slice('/run/secrets/'.length)) : value;
        }
        env.AGENTRY_PROJECT_DIR = join(DEPLOY, 'project');
        const result = await validateConfiguration({ flags: {}, env, cwd: dir });
        expect(result.env, name).toBe('production');
        expect(
          result.problems.filter((p) => p.severity === 'error'),
          name,
        ).toEqual([]);
      }
    });
  });

  describe('docker-compose config', () => {
    const v1 = hasBinary('docker-compose', ['version']);
    const v2 = hasBinary('docker', ['compose', 'version']);
    if (!v1) console.warn('deploy.compose.test.ts: docker-compose not found, skipping `docker-compose config`');
    if (!v2) console.warn('deploy.compose.test.ts: the docker compose plugin not found, skipping `docker compose config`');
    const check = (command: string[]) => {
      for (const extra of [[], ['--env-file', ENV_EXAMPLE]]) {
        const [bin = '', ...args] = command;
        const result = spawnSync(bin, [...args, '-f', COMPOSE_FILE, ...extra, 'config', '-q'], { encoding: 'utf8', cwd: DEPLOY });
        expect(result.status, `${command.join(' ')} ${extra.join(' ')}: ${result.stderr}`).toBe(0);
      }
      const services = spawnSync(command[0] ?? '', [...command.slice(1), '-f', COMPOSE_FILE, 'config', '--services'], { encoding: 'utf8', cwd: DEPLOY });
      expect(services.stdout.trim().split('\n').sort()).toEqual(Object.keys(model.services).sort());
    };
    it.skipIf(!v1)('accepts the file (docker-compose 1.29)', () => check(['docker-compose']));
    it.skipIf(!v2)('accepts the file (Compose v2)', () => check(['docker', 'compose']));
  });
});

/** Runs a health check's `node -e <script> <url>` as Docker would, without blocking this thread. */
function probe(script: string, url: string): Promise<number | null> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', script, url], { stdio: 'ignore' });
    child.once('error', fail);
    child.once('close', (code) => done(code));
  });
}
