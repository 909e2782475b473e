/**
 * `agentry support-bundle` (INC-13): the archive holds every file the docs list — versions,
 * configuration, migrations, workers, maintenance, counts, metrics, recent errors, and a run's
 * record, attempts, events and audit entries — and nothing secret. A distinct secret is planted
 * everywhere one can live (API keys, the CLI's key, provider keys in env and in a *_FILE file, the
 * database URL's password, a tool server's env secret, a run's input and output, a log line,
 * the internal HMAC secret, the gateway URL's password, the backup passphrase, the TLS key's
 * content, the --url password); the archive is extracted and every file is searched for each in
 * its plain, URL-encoded and base64 forms. A part that cannot be collected (the server at --url
 * is unreachable; the database is down) is `<file>.error.txt` and the bundle is still written.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { x as extract } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { redactorFor } from '../../src/app/secrets.js';
import { startServer } from '../../src/cli/commands/serve.js';
import { runCliInProcess } from '../helpers/cli.js';
import { silentLogger } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const SECRETS = {
  adminKey: 'PLANTadmin-5d1f8c2b7a9e',
  clientKey: 'PLANTclient-9b3e6a1d4c7f',
  providerEnv: 'PLANTprovenv-2c8f5b1e9d3a',
  providerFile: 'PLANTprovfile-7e4a2d9c1b6f',
  dbPassword: 'PLANTdbpass-3a9d6f2c8e1b',
  toolSecret: 'PLANTtool-8f1c4e7b2a5d',
  runInput: 'PLANTinput-4b7e1a8d3f6c',
  runOutput: 'PLANToutput-1d6b9f3a7c2e',
  logLine: 'PLANTlog-6c2f8a4e1b9d',
  internalSecret: 'PLANTinternal-9e5b2d7f4a1c',
  gatewayPassword: 'PLANTgwpass-2f7d4b9e6a3c',
  backupPassphrase: 'PLANTbackup-5a8c1f6d3e9b',
  tlsKey: 'PLANTtlskey-7b3e9d1f5c8a',
  urlPassword: 'PLANTurlpass-4e9a6c2f8d1b',
} as const;

function formsOf(secret: string): string[] {
  const base64 = Buffer.from(secret).toString('base64');
  return [secret, encodeURIComponent(secret), base64.replace(/=+$/, ''), Buffer.from(secret).toString('base64url')];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** A project whose workflow echoes its input and a declared env secret, with a gateway and a tool server holding secrets. */
function writeProject(dir: string): void {
  const files: Record<string, string> = {
    'agentry.yaml': 'version: v1\nname: bundle\n',
    'workflows/leak.yaml': [
      'name: leak',
      'env: { OUTPUT_SECRET: { secret: true, required: true }, INPUT_SECRET: { secret: true } }',
      'steps:',
      '  t:',
      "    transform: { token: '{{ env.OUTPUT_SECRET }}', input: '{{ input }}' }",
      "output: '{{ steps.t.output }}'",
      '',
    ].join('\n'),
    'gateway.yaml': [
      'version: v1',
      'providers:',
      '  up: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1", api_key: "{{ env.PROVIDER_KEY }}" }',
      '  other: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1", api_key: "{{ env.OTHER_PROVIDER_KEY }}" }',
      'models:',
      '  fake: { targets: [{ provider: up, model: fake-1 }] }',
      '',
    ].join('\n'),
    'tools/box.yaml': ['version: v1', 'name: box', 'command: node', 'args: [box.mjs]', 'env: { BOX_TOKEN: "{{ env.TOOL_SECRET }}" }', ''].join('\n'),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

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
            url.password = SECRETS.dbPassword;
            return { url: url.href, drop: db.drop };
          },
        },
      ]
    : []),
];

describe.each(backends)('agentry support-bundle ($name)', { timeout: 120_000 }, (backend) => {
  const { dir, remove } = tempDir('agentry-bundle-');
  const cleanups: (() => Promise<void> | void)[] = [remove];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  it('writes every part, for a run too, with no planted secret in any form', async () => {
    const project = join(dir, 'project');
    writeProject(project);
    const db = await backend.database(dir);
    cleanups.push(db.drop);
    writeFileSync(join(dir, 'provider-key'), `${SECRETS.providerFile}\n`);
    writeFileSync(join(dir, 'tls.key'), `-----BEGIN PRIVATE KEY-----\n${SECRETS.tlsKey}\n-----END PRIVATE KEY-----\n`);
    writeFileSync(join(dir, 'tls.crt'), '-----BEGIN CERTIFICATE-----\nnot-a-real-cert\n-----END CERTIFICATE-----\n');
    const env = {
      AGENTRY_PROJECT_DIR: project,
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_AUTO_MIGRATE: 'true',
      AGENTRY_API_KEYS: `ops:${SECRETS.adminKey}:admin`,
      AGENTRY_API_KEY: SECRETS.clientKey,
      AGENTRY_INTERNAL_SECRET: SECRETS.internalSecret,
      AGENTRY_GATEWAY_URL: `http://gw:${SECRETS.gatewayPassword}@127.0.0.1:1`,
      AGENTRY_BACKUP_PASSPHRASE: SECRETS.backupPassphrase,
      AGENTRY_TLS_CERT: join(dir, 'tls.crt'),
      AGENTRY_TLS_KEY: join(dir, 'tls.key'),
      PROVIDER_KEY: SECRETS.providerEnv,
      OTHER_PROVIDER_KEY_FILE: join(dir, 'provider-key'),
      TOOL_SECRET: SECRETS.toolSecret,
      OUTPUT_SECRET: SECRETS.runOutput,
      INPUT_SECRET: SECRETS.runInput,
    };
    // A run whose input holds a pasted API key and a declared secret, and whose output holds another.
    const started = await runCliInProcess(['run', 'leak', '--wait', '--json', '--input', JSON.stringify({ key: SECRETS.clientKey, note: SECRETS.runInput })], {
      env,
    });
    expect(started.code, started.stderr).toBe(0);
    const runId = (JSON.parse(started.stdout) as { id: string }).id;
    const log = join(dir, 'agentry.log');
    writeFileSync(
      log,
      [
        JSON.stringify({ level: 30, msg: 'an info line is not collected' }),
        JSON.stringify({ level: 50, msg: `upstream refused key ${SECRETS.providerEnv}`, authorization: `Bearer ${SECRETS.logLine}` }),
        `WARN plain text line with token=${SECRETS.logLine} and the internal secret ${SECRETS.internalSecret}`,
      ].join('\n'),
    );
    const out = join(dir, 'b.tgz');
    const res = await runCliInProcess(
      ['support-bundle', '--out', out, '--run', runId, '--log-file', log, '--url', `http://ops:${SECRETS.urlPassword}@127.0.0.1:1`, '--json'],
      { env: { ...env, AGENTRY_AUTO_MIGRATE: undefined } },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // The server at --url cannot be reached: its two parts are errors, the rest is there.
    expect(res.stderr).toMatch(/warning: 2 part\(s\) could not be collected .*metrics\.txt, readyz\.json/);
    const result = JSON.parse(res.stdout) as { failed: { file: string }[] };
    expect(result.failed.map((f) => f.file)).toEqual(['metrics.txt', 'readyz.json']);

    const x = join(dir, 'x');
    mkdirSync(x);
    await extract({ file: out, cwd: x });
    const names = filesUnder(x)
      .map((f) => relative(x, f))
      .sort();
    expect(names).toEqual(
      [
        'README.txt',
        'versions.json',
        'config.json',
        'doctor.json',
        'migrations.json',
        'workers.json',
        'maintenance.json',
        'counts.json',
        'metrics.txt.error.txt',
        'errors.log',
        'readyz.json.error.txt',
        `runs/${runId}/run.json`,
        `runs/${runId}/attempts.json`,
        `runs/${runId}/events.json`,
        `runs/${runId}/audit.json`,
      ].sort(),
    );
    const read = (name: string) => readFileSync(join(x, name), 'utf8');
    const json = <T>(name: string) => JSON.parse(read(name)) as T;
    expect(json<{ store: { kind: string; schema_version: number; database_version: string } }>('versions.json').store).toMatchObject({
      kind: backend.name,
      schema_version: expect.any(Number),
      database_version: expect.stringMatching(/^\d+\.\d+/),
    });
    expect(json<{ runs: Record<string, number> }>('counts.json').runs).toEqual({ succeeded: 1 });
    expect(json<{ state: string }>('migrations.json').state).toBe('current');
    expect(json<{ databaseUrl: { source: string } }>('config.json').databaseUrl.source).toBe('env');
    expect(json<{ on: boolean }>('maintenance.json').on).toBe(false);
    // The server at --url does not answer: doctor's probes check fails, its store checks pass.
    const doctor = json<{ status: string; checks: { id: string; status: string }[] }>('doctor.json');
    expect(doctor.checks.find((c) => c.id === 'probes')?.status).toBe('fail');
    expect(doctor.checks.find((c) => c.id === 'migrations')?.status).toBe('ok');
    expect(json<{ items: unknown[] }>('workers.json').items).toEqual([]);
    expect(json<{ status: string; steps: { id: string }[] }>(`runs/${runId}/run.json`)).toMatchObject({ status: 'succeeded', steps: [{ id: 't' }] });
    expect(Object.keys(json<Record<string, unknown>>(`runs/${runId}/attempts.json`))).toEqual(['t']);
    expect(json<{ items: { type: string }[] }>(`runs/${runId}/events.json`).items.map((e) => e.type)).toContain('run.succeeded');
    expect(json<{ items: { action: string }[] }>(`runs/${runId}/audit.json`).items.map((e) => e.action)).toContain('run.start');
    const errors = read('errors.log');
    expect(errors).toContain('upstream refused key [redacted]');
    expect(errors).toContain('WARN plain text line');
    expect(errors).not.toContain('an info line');
    expect(read('readyz.json.error.txt')).toContain('readyz.json could not be collected');
    expect(read('README.txt')).toContain('metrics.txt: ');

    const leaks = filesUnder(x).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return Object.entries(SECRETS).flatMap(([name, secret]) =>
        formsOf(secret)
          .filter((f) => text.includes(f))
          .map((f) => `${relative(x, file)}: ${name} (${f})`),
      );
    });
    expect(leaks).toEqual([]);
  });

  it('reads /metrics and /readyz from the server at --url; without one, metrics come from the store', async () => {
    const project = join(dir, 'served');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: served\n');
    const db = await backend.database(join(dir, 'served'));
    cleanups.push(db.drop);
    const env = { AGENTRY_PROJECT_DIR: project, AGENTRY_DATABASE_URL: db.url, AGENTRY_API_KEYS: `ops:${SECRETS.adminKey}:admin`, AGENTRY_AUTO_MIGRATE: 'true' };
    const config = loadConfig({ flags: { projectDir: project, port: 0 }, env, cwd: project });
    const server = await startServer(config, silentLogger, env, await loadProjectOrThrow(config, env), { redactor: redactorFor(config) });
    try {
      const served = join(dir, 'served.tgz');
      const res = await runCliInProcess(['support-bundle', '--out', served, '--url', server.url], { env: { ...env, AGENTRY_API_KEY: SECRETS.adminKey } });
      expect(res.code, res.stderr).toBe(0);
      const x = join(dir, 'served-x');
      mkdirSync(x);
      await extract({ file: served, cwd: x });
      const readyz = JSON.parse(readFileSync(join(x, 'readyz.json'), 'utf8')) as { status: number; body: { status: string; checks: Record<string, unknown> } };
      expect(readyz.status).toBe(200);
      expect(readyz.body).toMatchObject({ status: 'ready', checks: { database: { status: 'ok' } } });
      // The server's own families (HTTP requests) are in its /metrics, not in the store's gauges.
      expect(readFileSync(join(x, 'metrics.txt'), 'utf8')).toContain('agentry_http_request_duration_seconds');
    } finally {
      await server.close();
    }
    const local = join(dir, 'local.tgz');
    const res = await runCliInProcess(['support-bundle', '--out', local], { env });
    expect(res.code, res.stderr).toBe(0);
    const y = join(dir, 'local-x');
    mkdirSync(y);
    await extract({ file: local, cwd: y });
    const metrics = readFileSync(join(y, 'metrics.txt'), 'utf8');
    expect(metrics).toMatch(/^agentry_queue_depth 0$/m);
    expect(metrics).toMatch(/^agentry_tasks_open 0$/m);
    expect(readdirSync(y)).not.toContain('readyz.json');
    expect(readFileSync(join(y, 'README.txt'), 'utf8')).toContain('readyz.json: no --url: there is no server to ask');
  });

  it('is still written when the database is down: the store parts are errors, exit 0', async () => {
    const project = join(dir, 'down');
    writeProject(project);
    const url =
      backend.name === 'postgres'
        ? `postgres://postgres:${SECRETS.dbPassword}@127.0.0.1:1/nowhere?connect_timeout=2`
        : `sqlite:${join(dir, 'missing', 'none.db')}`;
    const out = join(dir, 'down.tgz');
    const res = await runCliInProcess(['support-bundle', '--out', out], {
      env: { AGENTRY_PROJECT_DIR: project, AGENTRY_DATABASE_URL: url, OUTPUT_SECRET: 'x' },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('could not be collected');
    expect(res.stderr).not.toContain(SECRETS.dbPassword);
    const x = join(dir, 'down-x');
    mkdirSync(x);
    await extract({ file: out, cwd: x });
    const names = readdirSync(x);
    expect(names).toEqual(
      expect.arrayContaining(['README.txt', 'versions.json', 'config.json', 'workers.json.error.txt', 'counts.json.error.txt', 'errors.log']),
    );
    for (const file of filesUnder(x)) expect(readFileSync(file, 'utf8')).not.toContain(SECRETS.dbPassword);
  });
});
