import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeConfig } from '../../src/app/config-describe.js';
import { configTableMarkdown } from '../../src/app/config-options.js';
import { loadConfig } from '../../src/app/config.js';
import { parseDurationText } from '../../src/lib/duration.js';
import { maskSecrets } from '../../src/lib/redact.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/engine/engine.js';
import { AgentryError } from '../../src/lib/errors.js';
import { DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { REPO, removeDir, tempDir } from '../helpers/cli.js';

let dir: string;

beforeEach(() => {
  dir = tempDir('agentry-config-');
  writeFileSync(
    join(dir, 'agentry.yaml'),
    `engine:
  concurrency: 3
  lease_ttl: 20s
  poll_interval: 2s
http:
  default_timeout: 5s
profiles:
  dev:
    engine:
      concurrency: 4
      poll_interval: 500ms
`,
  );
});

afterEach(() => removeDir(dir));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).code).toBe('invalid_request');
    return ((error as AgentryError).details as { problems: string[] }).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig precedence', () => {
  it('takes a flag over an environment variable over the profile over agentry.yaml over the default', () => {
    const env = { AGENTRY_PROFILE: 'dev', AGENTRY_CONCURRENCY: '5' };
    expect(loadConfig({ cwd: dir, env: {}, flags: { concurrency: 6 } }).engine.concurrency).toBe(6);
    expect(loadConfig({ cwd: dir, env, flags: { concurrency: 6 } }).engine.concurrency).toBe(6);
    expect(loadConfig({ cwd: dir, env }).engine.concurrency).toBe(5);
    expect(loadConfig({ cwd: dir, env: { AGENTRY_PROFILE: 'dev' } }).engine.concurrency).toBe(4);
    expect(loadConfig({ cwd: dir, env: {} }).engine.concurrency).toBe(3);
    const noYaml = tempDir('agentry-config-');
    try {
      expect(loadConfig({ cwd: noYaml, env: {} }).engine.concurrency).toBe(10);
    } finally {
      removeDir(noYaml);
    }
  });

  it('merges the profile over agentry.yaml key by key and records where each value came from', () => {
    const config = loadConfig({ cwd: dir, env: { AGENTRY_PROFILE: 'dev', AGENTRY_SHUTDOWN_GRACE: '1m' } });
    expect(config.engine).toEqual({ concurrency: 4, leaseTtlMs: 20_000, pollIntervalMs: 500, shutdownGraceMs: 60_000 });
    expect(config.http.defaultTimeoutMs).toBe(5_000);
    expect(config.sources).toMatchObject({ concurrency: 'profile', leaseTtl: 'agentry.yaml', shutdownGrace: 'env', logLevel: 'default' });
    expect(config.profile).toBe('dev');
  });

  it('finds agentry.yaml in the project directory given by flag or AGENTRY_PROJECT_DIR', () => {
    const cwd = tempDir('agentry-config-');
    try {
      expect(loadConfig({ cwd, env: { AGENTRY_PROJECT_DIR: dir } }).engine.concurrency).toBe(3);
      expect(loadConfig({ cwd, env: { AGENTRY_PROJECT_DIR: cwd }, flags: { projectDir: dir } }).projectDir).toBe(dir);
    } finally {
      removeDir(cwd);
    }
  });

  it('defaults the database to a SQLite file under the project and resolves sqlite: paths against the cwd', () => {
    expect(loadConfig({ cwd: dir, env: {} }).database.file).toBe(join(dir, '.agentry', 'agentry.db'));
    expect(loadConfig({ cwd: dir, env: { AGENTRY_DATABASE_URL: 'sqlite:data/x.db' } }).database.file).toBe(join(dir, 'data', 'x.db'));
    expect(loadConfig({ cwd: dir, env: { AGENTRY_DATABASE_URL: 'sqlite::memory:' } }).database.file).toBe(':memory:');
  });

  it('matches the engine and executor defaults when nothing is set', () => {
    const empty = tempDir('agentry-config-');
    try {
      const config = loadConfig({ cwd: empty, env: {} });
      expect(config.engine).toEqual(DEFAULT_ENGINE_SETTINGS);
      expect(config.http).toEqual(DEFAULT_EXECUTOR_SETTINGS.http);
      expect(config.logLevel).toBe('info');
    } finally {
      removeDir(empty);
    }
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ cwd: dir, env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.engine)).toBe(true);
    expect(Object.isFrozen(config.sources)).toBe(true);
  });
});

describe('loadConfig validation', () => {
  it('reports every problem at once, naming where each bad value came from', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'agentry.yaml'), 'engine:\n  concurrency: 0\nhttp:\n  allow_link_local: "perhaps"\n');
    const problems = problemsOf(() =>
      loadConfig({
        cwd: dir,
        env: { AGENTRY_LEASE_TTL: 'forever', AGENTRY_LOG_LEVEL: 'loud', AGENTRY_HTTP_MAX_RESPONSE_BYTES: '-5' },
        flags: { pollInterval: '1 second' },
      }),
    );
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/agentry\.yaml engine\.concurrency: must be >= 1/);
    expect(problems.join('\n')).toMatch(/agentry\.yaml http\.allow_link_local: must be true or false/);
    expect(problems.join('\n')).toMatch(/AGENTRY_LEASE_TTL: must be a duration like 500ms, 2s or 1m, got 'forever'/);
    expect(problems.join('\n')).toMatch(/AGENTRY_LOG_LEVEL: must be equal to one of the allowed values \(trace, debug/);
    expect(problems.join('\n')).toMatch(/AGENTRY_HTTP_MAX_RESPONSE_BYTES: must be >= 1/);
    expect(problems.join('\n')).toMatch(/pollInterval: must be a duration/);
  });

  it("takes the deployment's tenant from AGENTRY_TENANT or agentry.yaml, refuses system and malformed ids, and reads the break-glass key from a file", () => {
    expect(loadConfig({ cwd: dir, env: {} }).tenant).toBe('default');
    writeFileSync(join(dir, 'agentry.yaml'), 'tenant: acme\n');
    expect(loadConfig({ cwd: dir, env: {} }).tenant).toBe('acme');
    expect(loadConfig({ cwd: dir, env: { AGENTRY_TENANT: 'globex' } }).tenant).toBe('globex');
    expect(problemsOf(() => loadConfig({ cwd: dir, env: { AGENTRY_TENANT: 'system' } }))).toEqual([
      "AGENTRY_TENANT: 'system' is reserved for the installation itself; it is not a tenant",
    ]);
    expect(problemsOf(() => loadConfig({ cwd: dir, env: { AGENTRY_TENANT: 'no spaces' } }))[0]).toMatch(/^AGENTRY_TENANT: 'no spaces' is not a tenant id/);
    const keyFile = join(dir, 'admin.key');
    writeFileSync(keyFile, 'break-glass-0123456789abcdef\n');
    const config = loadConfig({ cwd: dir, env: { AGENTRY_ADMIN_API_KEY_FILE: keyFile } });
    expect(config.server.adminApiKey).toBe('break-glass-0123456789abcdef');
    expect(describeConfig(config).find((row) => row.key === 'adminApiKey')).toMatchObject({ value: '***', source: 'env' });
  });

  it('takes a postgres URL with its pool settings, and refuses other URLs without printing their password', () => {
    const config = loadConfig({ cwd: dir, env: { AGENTRY_DATABASE_URL: 'postgres://me:s3cret@db:5432/agentry', AGENTRY_DB_POOL_SIZE: '4' } });
    expect(config.database).toEqual({
      kind: 'postgres',
      options: { poolSize: 4, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000, applicationName: 'agentry' },
    });
    const problems = problemsOf(() => loadConfig({ cwd: dir, env: { AGENTRY_DATABASE_URL: 'mysql://me:s3cret@db/agentry' } }));
    expect(problems).toEqual(["AGENTRY_DATABASE_URL: 'mysql://me:***@db/agentry' is not a supported database URL; use sqlite:<file> or postgres://…"]);
  });

  it('reads AGENTRY_CORS_ORIGINS as exact origins (none by default) and refuses anything else', () => {
    expect(loadConfig({ cwd: dir, env: {} }).server.corsOrigins).toEqual([]);
    const config = loadConfig({ cwd: dir, env: { AGENTRY_CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' } });
    expect(config.server.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
    const problems = problemsOf(() => loadConfig({ cwd: dir, env: { AGENTRY_CORS_ORIGINS: '*,https://app.example.com/,ftp://x' } }));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^AGENTRY_CORS_ORIGINS: '\*' is not an origin/);
  });

  it('reports an unknown profile with the profiles that exist', () => {
    const problems = problemsOf(() => loadConfig({ cwd: dir, env: { AGENTRY_PROFILE: 'prod' } }));
    expect(problems).toEqual(["AGENTRY_PROFILE: profile 'prod' is not in agentry.yaml (profiles: dev)"]);
  });
});

describe('config helpers', () => {
  it('parses 500ms, 2s, 1m and plain milliseconds, and nothing else', () => {
    expect([parseDurationText('500ms'), parseDurationText('2s'), parseDurationText('1m'), parseDurationText('1h30m'), parseDurationText('250')]).toEqual([
      500, 2_000, 60_000, 5_400_000, 250,
    ]);
    expect(parseDurationText('2 s')).toBeUndefined();
    expect(parseDurationText('-1s')).toBeUndefined();
  });

  it('masks passwords and secret query parameters in URLs', () => {
    expect(maskSecrets('postgres://user:pa55@host/db?sslmode=require&password=x')).toBe('postgres://user:***@host/db?sslmode=require&password=***');
    expect(maskSecrets('sqlite:/tmp/a.db')).toBe('sqlite:/tmp/a.db');
  });

  it('describes every option with its masked value and source', () => {
    const rows = describeConfig(loadConfig({ cwd: dir, env: { AGENTRY_DATABASE_URL: 'sqlite:a.db?token=abc' } }));
    expect(rows.find((r) => r.key === 'databaseUrl')).toMatchObject({ value: 'sqlite:a.db?token=***', source: 'env' });
    expect(rows.find((r) => r.key === 'leaseTtl')).toMatchObject({ value: '20s', source: 'agentry.yaml' });
  });

  it('keeps docs/configuration.md in sync with the options table', () => {
    const docs = readFileSync(join(REPO, 'docs/configuration.md'), 'utf8');
    expect(docs).toContain(configTableMarkdown());
  });
});
