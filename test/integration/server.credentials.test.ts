/**
 * The credential inventory (`GET /v1/security/credentials`, `agentry credentials list`): every
 * secret reference of the configuration and the project — provider keys, tool servers' variables,
 * secret `env:` of workflows and agentry.yaml, the server's own secret options — with whether it
 * resolves, its source and what uses it (agents and workflow steps through their tools and
 * models), and never a value: known values are planted and searched for in every answer.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { credentialInventory, type CredentialSources } from '../../src/app/credentials.js';
import type { CredentialDto } from '../../src/app/dto/credentials.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { tempDir } from '../helpers/store.js';

const { dir, remove } = tempDir('agentry-credentials-');
const project = join(dir, 'project');

/** Values planted in the environment (and a secret file), made afresh each run: none may appear in any answer. */
const plant = (prefix: string): string => `${prefix}${randomBytes(16).toString('hex')}`;
const PLANTED = {
  OPENAI_PROD_KEY: plant('sk-'),
  GITHUB_TOKEN: plant('ghp_'),
  CRM_BASE: `https://${plant('crm-')}.internal.example`,
  SIGNING_SECRET: plant(''),
  DB_PASSWORD: plant(''),
  FILE_SECRET: plant(''),
  API_KEY: plant(''),
};

function write(path: string, text: string): void {
  mkdirSync(join(project, path, '..'), { recursive: true });
  writeFileSync(join(project, path), text);
}

write('agentry.yaml', 'version: v1\nenv:\n  WEBHOOK_SECRET: { secret: true }\n  REGION: { default: eu }\n');
write(
  'gateway.yaml',
  [
    'version: v1',
    'providers:',
    '  openai: { type: openai, api_key: "{{ env.OPENAI_PROD_KEY }}" }',
    '  anthropic: { type: anthropic }',
    'models:',
    '  smart: { targets: [{ provider: openai, model: gpt-4o }] }',
    '  other: { targets: [{ provider: anthropic, model: claude }] }',
  ].join('\n'),
);
write(
  'tools/github.yaml',
  'version: v1\nname: github\nurl: https://mcp.github.example/mcp\nheaders:\n  Authorization: "Bearer {{ env.GITHUB_TOKEN }}"\n  X-Crm: "{{ env.CRM_BASE }}"\n',
);
write('agents/triager.yaml', 'version: v1\nname: triager\nmodel: smart\ntools: [github.*]\n');
write(
  'workflows/release.yaml',
  [
    'version: v1',
    'name: release',
    'env:',
    '  SIGNING_SECRET: { secret: true }',
    '  NOT_SET_SECRET: { secret: true }',
    '  FROM_FILE: { secret: true }',
    '  PUBLIC_NAME: {}',
    'steps:',
    '  sign: { transform: { sig: "{{ env.SIGNING_SECRET }}", file: "{{ env.FROM_FILE }}", name: "{{ env.PUBLIC_NAME }}" } }',
    '  triage: { agent: triager, input: { text: hi } }',
  ].join('\n'),
);
const secretFile = join(dir, 'from-file.txt');
writeFileSync(secretFile, `${PLANTED.FILE_SECRET}\n`);

const env: NodeJS.ProcessEnv = {
  OPENAI_PROD_KEY: PLANTED.OPENAI_PROD_KEY,
  GITHUB_TOKEN: PLANTED.GITHUB_TOKEN,
  CRM_BASE: PLANTED.CRM_BASE,
  SIGNING_SECRET: PLANTED.SIGNING_SECRET,
  FROM_FILE_FILE: secretFile,
  PUBLIC_NAME: 'not a secret',
  AGENTRY_DATABASE_URL: `postgres://agentry:${PLANTED.DB_PASSWORD}@127.0.0.1:5432/agentry`,
  AGENTRY_API_KEYS: `ops:${PLANTED.API_KEY}:operator`,
  AGENTRY_PROJECT_DIR: project,
};

let api: TestApi;
let sources: CredentialSources;

beforeAll(async () => {
  const config = loadConfig({ env, cwd: dir });
  sources = { config, project: await loadProjectOrThrow(config, env), env };
  api = await startTestApi({ start: false, app: { credentials: sources } });
});
afterAll(async () => {
  await api.close();
  remove();
});

async function inventory(query = ''): Promise<{ body: string; items: CredentialDto[] }> {
  const res = await api.app.inject({ url: `/v1/security/credentials${query}`, headers: api.auth('operator') });
  expect(res.statusCode, res.body).toBe(200);
  return { body: res.body, items: res.json<{ items: CredentialDto[] }>().items };
}

function expectNoValues(text: string): void {
  for (const [name, value] of Object.entries(PLANTED)) expect(text, `${name}'s value leaked`).not.toContain(value);
}

describe('GET /v1/security/credentials', () => {
  it('needs credentials:read: a viewer gets 403, no key 401, operator and admin 200', async () => {
    expect((await api.app.inject({ url: '/v1/security/credentials', headers: api.auth('viewer') })).statusCode).toBe(403);
    expect((await api.app.inject({ url: '/v1/security/credentials' })).statusCode).toBe(401);
    expect((await api.app.inject({ url: '/v1/security/credentials', headers: api.auth('admin') })).statusCode).toBe(200);
  });

  it('lists every secret reference with what uses it, and no value anywhere in the answer', async () => {
    const { body, items } = await inventory();
    expectNoValues(body);
    const byName = Object.fromEntries(items.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'AGENTRY_API_KEYS',
        'AGENTRY_DATABASE_URL',
        'ANTHROPIC_API_KEY',
        'CRM_BASE',
        'FROM_FILE',
        'GITHUB_TOKEN',
        'NOT_SET_SECRET',
        'OPENAI_PROD_KEY',
        'SIGNING_SECRET',
        'WEBHOOK_SECRET',
      ].sort(),
    );
    expect(byName.OPENAI_PROD_KEY).toEqual({
      name: 'OPENAI_PROD_KEY',
      resolved: true,
      source: 'env',
      // The agent reaches it through its model group, the workflow step through the agent.
      used_by: ['agent:triager', 'gateway:provider openai', 'workflow:release step triage'],
    });
    expect(byName.ANTHROPIC_API_KEY).toEqual({ name: 'ANTHROPIC_API_KEY', resolved: false, source: 'env', used_by: ['gateway:provider anthropic'] });
    expect(byName.GITHUB_TOKEN?.used_by).toEqual(['agent:triager', 'tool:github', 'workflow:release step triage']);
    expect(byName.CRM_BASE?.used_by).toContain('tool:github');
    expect(byName.SIGNING_SECRET).toEqual({ name: 'SIGNING_SECRET', resolved: true, source: 'env', used_by: ['workflow:release step sign'] });
    expect(byName.FROM_FILE).toMatchObject({ resolved: true, source: 'file', used_by: ['workflow:release step sign'] });
    expect(byName.NOT_SET_SECRET).toEqual({ name: 'NOT_SET_SECRET', resolved: false, source: 'env', used_by: ['workflow:release'] });
    expect(byName.WEBHOOK_SECRET).toMatchObject({ resolved: false, used_by: ['agentry.yaml env'] });
    expect(byName.AGENTRY_API_KEYS).toEqual({ name: 'AGENTRY_API_KEYS', resolved: true, source: 'env', used_by: ['server:api keys'] });
    expect(byName.AGENTRY_DATABASE_URL).toMatchObject({ resolved: true, source: 'env', used_by: ['server:database'] });
  });

  it('answers resolved: false once a variable is unset, and filters by what uses it', async () => {
    const saved = env.SIGNING_SECRET;
    delete env.SIGNING_SECRET;
    try {
      const { items } = await inventory('?unresolved=true');
      expect(items.map((c) => c.name).sort()).toEqual(['ANTHROPIC_API_KEY', 'NOT_SET_SECRET', 'SIGNING_SECRET', 'WEBHOOK_SECRET']);
    } finally {
      env.SIGNING_SECRET = saved;
    }
    expect((await inventory('?used_by=agent:triager')).items.map((c) => c.name)).toEqual(['CRM_BASE', 'GITHUB_TOKEN', 'OPENAI_PROD_KEY']);
    expect((await inventory('?used_by=workflow:release')).items.map((c) => c.name)).toEqual([
      'CRM_BASE',
      'FROM_FILE',
      'GITHUB_TOKEN',
      'NOT_SET_SECRET',
      'OPENAI_PROD_KEY',
      'SIGNING_SECRET',
    ]);
  });
});

describe('agentry credentials list', () => {
  it('prints the same inventory from the project and the environment, without values', async () => {
    const json = await runCliInProcess(['credentials', 'list', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expectNoValues(json.stdout + json.stderr);
    expect(JSON.parse(json.stdout)).toEqual({ items: (await inventory()).items });
    const text = await runCliInProcess(['credentials', 'list', '--unresolved'], { env });
    expect(text.code, text.stderr).toBe(0);
    expectNoValues(text.stdout + text.stderr);
    expect(text.stdout).toMatch(/NOT_SET_SECRET\s+no\s+env\s+workflow:release/);
    expect(text.stdout).not.toContain('OPENAI_PROD_KEY');
    expect(text.stdout).toContain('3 of 3 do not resolve');
  });

  it('needs one way to call a remote gateway: the internal secret or the gateway key, unresolved only when neither is set', () => {
    const remote = (extra: NodeJS.ProcessEnv) => {
      const gatewayEnv = { AGENTRY_PROJECT_DIR: project, AGENTRY_GATEWAY_URL: 'http://127.0.0.1:7701', ...extra };
      const items = credentialInventory({ config: loadConfig({ env: gatewayEnv, cwd: dir }), project: sources.project, env: gatewayEnv });
      return Object.fromEntries(items.filter((c) => /^AGENTRY_(GATEWAY_API_KEY|INTERNAL_SECRET)$/.test(c.name)).map((c) => [c.name, c.resolved]));
    };
    const secret = plant('');
    expect(remote({ AGENTRY_INTERNAL_SECRET: secret })).toEqual({ AGENTRY_INTERNAL_SECRET: true });
    expect(remote({ AGENTRY_GATEWAY_API_KEY: secret })).toEqual({ AGENTRY_GATEWAY_API_KEY: true });
    expect(remote({})).toEqual({ AGENTRY_GATEWAY_API_KEY: false, AGENTRY_INTERNAL_SECRET: false });
  });
});
