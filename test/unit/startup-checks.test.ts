import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { describeConfig } from '../../src/app/config-describe.js';
import { redactorFor } from '../../src/app/secrets.js';
import { withSecretFiles } from '../../src/app/secret-files.js';
import { findLiteralSecrets } from '../../src/app/secret-literals.js';
import { checkStartup, startupProblems, startupWarnings } from '../../src/app/startup-checks.js';
import { parseEgressRules, type EgressRuleSet } from '../../src/lib/egress.js';
import { AgentryError } from '../../src/lib/errors.js';
import { removeDir, tempDir } from '../helpers/cli.js';

const GOOD_KEY = '9f2c4e1a7b3d5f8e0c6a2b4d7e9f1a3c5b7d9e2f4a6c8e0b';
const INTERNAL_SECRET = '3d9a7f1c5e2b8d4a6f0c9e3b7a1d5f8c2e6b0a4d9f3c7e1b';
const EGRESS = parseEgressRules({ allow: [] }, 'project').rules;

let dir: string;

beforeEach(() => {
  dir = tempDir('agentry-startup-');
  writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\negress: { allow: [] }\n');
});

afterEach(() => removeDir(dir));

/** A clean production configuration with `env` (and files) changed. */
function problemsWith(env: Record<string, string>, options: { egress?: EgressRuleSet | undefined; listens?: boolean; servesGateway?: boolean } = {}): string[] {
  const config = loadConfig({
    flags: { projectDir: dir },
    env: { AGENTRY_ENV: 'production', AGENTRY_API_KEYS: `ops:${GOOD_KEY}:admin`, AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}`, ...env },
    cwd: dir,
  });
  return startupProblems(config, {
    listens: options.listens ?? true,
    servesGateway: options.servesGateway ?? false,
    egress: 'egress' in options ? options.egress : EGRESS,
  });
}

describe('production mode: startup checks', () => {
  it('finds nothing in a clean production configuration', () => {
    expect(problemsWith({})).toEqual([]);
    // Managed keys or OIDC may sign in instead: a server with no way at all refuses to start by itself.
    expect(problemsWith({ AGENTRY_API_KEYS: '' })).toEqual([]);
    expect(problemsWith({ AGENTRY_HOST: '0.0.0.0', AGENTRY_TRUSTED_PROXIES: '10.0.0.2' })).toEqual([]);
  });

  it.each<[string, Record<string, string>, { egress?: EgressRuleSet | undefined; files?: Record<string, string> }, RegExp]>([
    ['auth off', { AGENTRY_AUTH: 'off' }, {}, /^auth is off/],
    ['a short API key', { AGENTRY_API_KEYS: 'ops:0123456789abcdef0123:admin' }, {}, /entry 1 \('ops'\): the key is shorter than 32/],
    [
      'a placeholder API key',
      { AGENTRY_API_KEYS: `ops:${GOOD_KEY}:admin;ci:changeme-changeme-changeme-changeme:viewer` },
      {},
      /entry 2 \('ci'\): .*placeholder/,
    ],
    ['a repetitive API key', { AGENTRY_API_KEYS: `ops:${'ab'.repeat(20)}:admin` }, {}, /placeholder/],
    [
      'a literal provider key',
      {},
      { files: { 'gateway.yaml': 'providers:\n  openai:\n    type: openai\n    api_key: hunter2-literal\n' } },
      /^gateway\.yaml:4: 'api_key' holds a literal secret/,
    ],
    [
      'a known key shape',
      {},
      { files: { 'tools/gh.yaml': `name: gh\nurl: https://x.example.com\nheaders: { X: ghp_${'a1B2'.repeat(9)} }\n` } },
      /^tools\/gh\.yaml:3: a GitHub token/,
    ],
    [
      'a token written into a workflow',
      {},
      {
        files: {
          'workflows/hook.yaml': `name: hook\nsteps:\n  call:\n    http: { url: https://hooks.example.com, headers: { Authorization: "Bearer ${'q7Lm2ZxR9tKw4VpN8sJd3Hy6'}" } }\n`,
        },
      },
      /^workflows\/hook\.yaml:4: 'Authorization' holds a literal secret/,
    ],
    ['in-memory SQLite', { AGENTRY_DATABASE_URL: 'sqlite::memory:' }, {}, /in-memory SQLite/],
    ['a placeholder database password', { AGENTRY_DATABASE_URL: 'postgres://agentry:change-me@db:5432/agentry' }, {}, /^AGENTRY_DATABASE_URL: .*placeholder/],
    ['the postgres default password', { AGENTRY_DATABASE_URL: 'postgres://postgres:postgres@db/agentry' }, {}, /^AGENTRY_DATABASE_URL: .*placeholder/],
    ['a password in the query', { AGENTRY_DATABASE_URL: 'postgres://app@db/agentry?password=replace-with-yours' }, {}, /^AGENTRY_DATABASE_URL: /],
    [
      'a remote gateway without an internal secret (an API key is no substitute)',
      { AGENTRY_GATEWAY_URL: 'http://gw:7701', AGENTRY_GATEWAY_API_KEY: GOOD_KEY },
      {},
      /^AGENTRY_GATEWAY_URL is set but AGENTRY_INTERNAL_SECRET is not/,
    ],
    ['a short internal secret', { AGENTRY_INTERNAL_SECRET: 'a1b2'.repeat(7) }, {}, /^AGENTRY_INTERNAL_SECRET is shorter than 32 bytes/],
    [
      'a placeholder internal secret',
      { AGENTRY_INTERNAL_SECRET: ['replace', 'me', 'with', 'the', 'internal', 'secret', '0123'].join('-') },
      {},
      /^AGENTRY_INTERNAL_SECRET looks like a placeholder/,
    ],
    [
      'a short previous internal secret',
      { AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET, AGENTRY_INTERNAL_SECRET_PREVIOUS: 'short-old-1' },
      {},
      /^AGENTRY_INTERNAL_SECRET_PREVIOUS is shorter than 32 bytes/,
    ],
    [
      'a short gateway key',
      { AGENTRY_GATEWAY_URL: 'http://gw:7701', AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET, AGENTRY_GATEWAY_API_KEY: 'a1b2'.repeat(5) },
      {},
      /AGENTRY_GATEWAY_API_KEY is shorter than 32/,
    ],
    [
      'a placeholder gateway key',
      {
        AGENTRY_GATEWAY_URL: 'http://gw:7701',
        AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET,
        AGENTRY_GATEWAY_API_KEY: ['replace', 'me', 'with', 'a', 'gateway', 'use', 'key', '0123'].join('-'),
      },
      {},
      /AGENTRY_GATEWAY_API_KEY looks like a placeholder/,
    ],
    [
      'a tool server on a floating npx package',
      {},
      { files: { 'tools/fs.yaml': 'name: fs\ncommand: npx\nargs: ["-y", "@acme/fs-mcp@latest"]\n' } },
      /^tools\/fs\.yaml: npx runs @acme\/fs-mcp@latest without an exact version; pin an exact version/,
    ],
    ['no egress policy', {}, { egress: undefined }, /^egress has no policy/],
    ['a short break-glass key', { AGENTRY_ADMIN_API_KEY: 'a1b2'.repeat(5) }, {}, /^AGENTRY_ADMIN_API_KEY is shorter than 32/],
    [
      'a placeholder break-glass key',
      { AGENTRY_ADMIN_API_KEY: ['replace', 'me', 'with', 'a', 'real', 'admin', 'key', '0123'].join('-') },
      {},
      /^AGENTRY_ADMIN_API_KEY looks like a placeholder/,
    ],
    ['a public bind without a proxy', { AGENTRY_HOST: '0.0.0.0' }, {}, /binds 0\.0\.0\.0, not loopback, and AGENTRY_TRUSTED_PROXIES names no proxy/],
  ])('refuses %s, alone', (_name, env, extra, expected) => {
    for (const [file, text] of Object.entries(extra.files ?? {})) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const problems = problemsWith(env, 'egress' in extra ? { egress: extra.egress } : {});
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('accepts a public bind with native TLS or a trusted proxy', () => {
    expect(problemsWith({ AGENTRY_HOST: '0.0.0.0', AGENTRY_TLS_CERT: 'tls.crt', AGENTRY_TLS_KEY: 'tls.key' })).toEqual([]);
    expect(problemsWith({ AGENTRY_HOST: '0.0.0.0', AGENTRY_TRUSTED_PROXIES: '10.0.0.2' })).toEqual([]);
  });

  it('accepts a generated database password, gateway key and internal secret', () => {
    const env = {
      AGENTRY_DATABASE_URL: `postgres://agentry:${GOOD_KEY}@db:5432/agentry`,
      AGENTRY_GATEWAY_URL: 'http://gw:7701',
      AGENTRY_GATEWAY_API_KEY: GOOD_KEY,
      AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET,
    };
    expect(problemsWith(env)).toEqual([]);
    // The internal secret alone is enough to call a remote gateway: no API key needed.
    expect(problemsWith({ AGENTRY_GATEWAY_URL: 'http://gw:7701', AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET }, { listens: false })).toEqual([]);
  });

  it('requires the internal secret of a worker with AGENTRY_GATEWAY_URL and of a process serving the gateway (AUTH-15)', () => {
    expect(problemsWith({ AGENTRY_GATEWAY_URL: 'http://gw:7701' }, { listens: false })).toEqual([
      expect.stringMatching(/^AGENTRY_GATEWAY_URL is set but AGENTRY_INTERNAL_SECRET is not/),
    ]);
    expect(problemsWith({}, { servesGateway: true })).toEqual([
      expect.stringMatching(/^this process serves the LLM gateway but AGENTRY_INTERNAL_SECRET is not set/),
    ]);
    expect(problemsWith({ AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET }, { servesGateway: true })).toEqual([]);
    // 32 bytes of UTF-8, not 32 characters: 16 two-byte characters are enough, 31 ASCII ones are not.
    expect(problemsWith({ AGENTRY_INTERNAL_SECRET: 'ж'.repeat(8) + 'q7Lm2ZxR9tKw4VpN' }, { servesGateway: true })).toEqual([]);
    expect(problemsWith({ AGENTRY_INTERNAL_SECRET: INTERNAL_SECRET.slice(0, 31) }, { servesGateway: true })).toEqual([
      expect.stringMatching(/shorter than 32 bytes/),
    ]);
    // A process that neither calls nor serves a gateway needs none.
    expect(problemsWith({}, { listens: false })).toEqual([]);
  });

  it('warns in development without an internal secret, and never prints the secret', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const env = { AGENTRY_GATEWAY_URL: 'http://gw:7701', AGENTRY_GATEWAY_API_KEY: GOOD_KEY, AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}` };
    checkStartup(loadConfig({ flags: { projectDir: dir }, env, cwd: dir }), { listens: false, egress: EGRESS }, logger);
    expect(lines).toEqual([expect.stringMatching(/not production-ready: AGENTRY_GATEWAY_URL is set but AGENTRY_INTERNAL_SECRET is not/)]);
    const weak = 'ab12'.repeat(6);
    checkStartup(
      loadConfig({ flags: { projectDir: dir }, env: { ...env, AGENTRY_INTERNAL_SECRET: weak }, cwd: dir }),
      { listens: false, egress: EGRESS },
      logger,
    );
    expect(lines.at(-1)).toMatch(/AGENTRY_INTERNAL_SECRET is shorter than 32 bytes/);
    expect(lines.join('\n')).not.toContain(weak);
  });

  it('names the key path of a literal secret', () => {
    writeFileSync(join(dir, 'gateway.yaml'), 'providers:\n  openai:\n    type: openai\n    api_key: hunter2-literal\n  other:\n    type: openai\n');
    expect(problemsWith({})).toEqual([
      "gateway.yaml:4: 'api_key' holds a literal secret (at providers.openai.api_key); read it from the environment ({{ env.NAME }})",
    ]);
  });

  it('skips the server checks for a process that does not listen', () => {
    expect(problemsWith({ AGENTRY_AUTH: 'off', AGENTRY_HOST: '0.0.0.0' }, { listens: false })).toEqual([]);
  });

  it('throws unsafe_configuration (exit 2) in production, one line per problem; warns in development', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const env = { AGENTRY_AUTH: 'off', AGENTRY_DATABASE_URL: 'sqlite::memory:' };
    const production = loadConfig({ flags: { projectDir: dir }, env: { ...env, AGENTRY_ENV: 'production' }, cwd: dir });
    let error: unknown;
    try {
      checkStartup(production, { listens: true, egress: undefined }, logger);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).code).toBe('unsafe_configuration');
    expect((error as AgentryError).message.split('\n')).toHaveLength(4);
    // Production also warns (without refusing) that the specs need not come from a signed bundle.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('specs are not required to come from a signed bundle');
    const development = loadConfig({ flags: { projectDir: dir }, env, cwd: dir });
    checkStartup(development, { listens: true, egress: undefined }, logger);
    expect(lines).toHaveLength(4);
    expect(lines.slice(1).every((line) => line.includes('not production-ready'))).toBe(true);
  });

  it('does not warn of unsigned specs in production when signed specs are required', () => {
    const env = { AGENTRY_ENV: 'production', AGENTRY_REQUIRE_SIGNED_SPECS: 'true', AGENTRY_DATABASE_URL: 'sqlite::memory:' };
    expect(startupWarnings(loadConfig({ flags: { projectDir: dir }, env, cwd: dir }))).toEqual([]);
    expect(startupWarnings(loadConfig({ flags: { projectDir: dir }, env: { ...env, AGENTRY_REQUIRE_SIGNED_SPECS: 'false' }, cwd: dir }))).toHaveLength(1);
    expect(startupWarnings(loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_DATABASE_URL: 'sqlite::memory:' }, cwd: dir }))).toEqual([]);
  });
});

describe('literal secrets in spec files', () => {
  it.each([
    ['api_key: "{{ env.OPENAI_API_KEY }}"', 0],
    ['max_tokens: 4000', 0],
    ['secret: true', 0],
    ['description: uses a token to call the API', 0],
    ['token: ${GITHUB_TOKEN}', 0],
    ['api_key: sk-live', 1],
    [`password: 'Zx8!qP3#vL9@mN2$wR5'`, 1],
    ['headers: { Authorization: "Bearer Zx8qP3vL9mN2wR5tY7uI" }', 1],
    [`note: sk-ant-${'x9'.repeat(12)}`, 1],
    ['hook: https://hooks.slack.com/x xoxb-1234567890-abcdef', 1],
  ])('%s → %i finding(s)', (line, count) => {
    expect(findLiteralSecrets(`${line}\n`, 'f.yaml')).toHaveLength(count);
  });
});

describe('NAME_FILE secrets', () => {
  it('reads a secret option from NAME_FILE, trimming one trailing newline', () => {
    writeFileSync(join(dir, 'keys'), `ops:${GOOD_KEY}:admin\n`);
    const config = loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_API_KEYS_FILE: join(dir, 'keys') }, cwd: dir });
    expect(config.server.apiKeys).toBe(`ops:${GOOD_KEY}:admin`);
    expect(config.sources.apiKeys).toBe('env');
  });

  it('reads the internal secrets from their files; config show and the redactor mask them; a previous secret needs a current one', () => {
    writeFileSync(join(dir, 'internal'), `${INTERNAL_SECRET}\n`);
    writeFileSync(join(dir, 'previous'), GOOD_KEY);
    const env = { AGENTRY_INTERNAL_SECRET_FILE: join(dir, 'internal'), AGENTRY_INTERNAL_SECRET_PREVIOUS_FILE: join(dir, 'previous') };
    const config = loadConfig({ flags: { projectDir: dir }, env, cwd: dir });
    expect(config.internal).toEqual({ secret: INTERNAL_SECRET, previousSecret: GOOD_KEY });
    const shown = describeConfig(config).filter((row) => row.key.startsWith('internalSecret'));
    expect(shown).toEqual([
      { key: 'internalSecret', env: 'AGENTRY_INTERNAL_SECRET', value: '***', source: 'env' },
      { key: 'internalSecretPrevious', env: 'AGENTRY_INTERNAL_SECRET_PREVIOUS', value: '***', source: 'env' },
    ]);
    expect(redactorFor(config).text(`current ${INTERNAL_SECRET} previous ${GOOD_KEY}`)).not.toMatch(/3d9a7f1c|9f2c4e1a/);
    expect(() => loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_INTERNAL_SECRET_PREVIOUS: GOOD_KEY }, cwd: dir })).toThrow(
      /AGENTRY_INTERNAL_SECRET_PREVIOUS: is set without AGENTRY_INTERNAL_SECRET/,
    );
    expect(() =>
      loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_INTERNAL_SECRET: GOOD_KEY, AGENTRY_INTERNAL_SECRET_PREVIOUS: GOOD_KEY }, cwd: dir }),
    ).toThrow(/AGENTRY_INTERNAL_SECRET_PREVIOUS: is the same as AGENTRY_INTERNAL_SECRET/);
  });

  it('refuses NAME and NAME_FILE together, and an unreadable file', () => {
    writeFileSync(join(dir, 'url'), 'sqlite:x.db');
    expect(() =>
      loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_DATABASE_URL: 'sqlite:y.db', AGENTRY_DATABASE_URL_FILE: join(dir, 'url') }, cwd: dir }),
    ).toThrow(/AGENTRY_DATABASE_URL and AGENTRY_DATABASE_URL_FILE are both set/);
    expect(() => loadConfig({ flags: { projectDir: dir }, env: { AGENTRY_API_KEY_FILE: join(dir, 'missing') }, cwd: dir })).toThrow(
      /AGENTRY_API_KEY_FILE: cannot read .*ENOENT/,
    );
  });

  it('fills provider keys and the variables gateway.yaml references from their files', () => {
    writeFileSync(join(dir, 'gateway.yaml'), 'providers:\n  p: { type: openai-compatible, api_key: "{{ env.MY_LLM_KEY }}" }\n');
    writeFileSync(join(dir, 'openai'), 'sk-from-file\n');
    writeFileSync(join(dir, 'mine'), 'mine-from-file');
    const { env, problems } = withSecretFiles({ OPENAI_API_KEY_FILE: join(dir, 'openai'), MY_LLM_KEY_FILE: join(dir, 'mine'), OTHER_FILE: '/nope' }, dir);
    expect(problems).toEqual([]);
    expect(env).toMatchObject({ OPENAI_API_KEY: 'sk-from-file', MY_LLM_KEY: 'mine-from-file', OTHER_FILE: '/nope' });
    expect(withSecretFiles({ ANTHROPIC_API_KEY: 'a', ANTHROPIC_API_KEY_FILE: join(dir, 'openai') }, dir).problems).toEqual([
      'ANTHROPIC_API_KEY and ANTHROPIC_API_KEY_FILE are both set; set only one',
    ]);
  });
});
