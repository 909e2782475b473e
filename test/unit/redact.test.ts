import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProjectOrThrow } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { configSecrets, projectSecrets } from '../../src/app/secrets.js';
import { Redactor, urlCredentials } from '../../src/lib/redact.js';

const SECRET = 'hunter2-s3cr3t/value+x';

describe('Redactor', () => {
  const redactor = new Redactor({ secrets: [SECRET, 'short', undefined] });

  it('masks a known value as is, URL-encoded, JSON-escaped and base64-encoded', () => {
    for (const form of [SECRET, encodeURIComponent(SECRET), JSON.stringify(SECRET).slice(1, -1), Buffer.from(SECRET).toString('base64')]) {
      expect(redactor.text(`before ${form} after`)).not.toContain(form.replace(/=+$/, ''));
    }
    expect(redactor.text(`a ${SECRET} b`)).toBe('a [redacted] b');
  });

  it('masks a value inside a longer base64 text (Basic credentials) at every byte offset', () => {
    for (const user of ['u', 'us', 'use', 'user']) {
      const basic = Buffer.from(`${user}:${SECRET}`).toString('base64');
      const out = redactor.text(`Authorization: Basic ${basic}`);
      // What is left of the credential is the user name's characters and the secret's edges only.
      const left = out.slice('Authorization: Basic '.length).replace('[redacted]', '');
      expect(out).toContain('[redacted]');
      expect(left.length).toBeLessThanOrEqual(12);
    }
  });

  it('ignores values too short to match safely, and learns values added later', () => {
    expect(redactor.text('a short word')).toBe('a short word');
    const later = new Redactor();
    expect(later.text('token-value-123')).toBe('token-value-123');
    later.add(['token-value-123']);
    expect(later.text('token-value-123')).toBe('[redacted]');
    expect(later.size).toBe(1);
  });

  it('masks URL passwords and secret query parameters without knowing them', () => {
    expect(redactor.text('postgres://app:pw123456@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactor.text('https://h/p?a=1&token=abc&api_key=def')).toBe('https://h/p?a=1&token=***&api_key=***');
  });

  it('keeps a JSON document whole: a URL rule never matches from one string into another', () => {
    // Found by the route fuzzer: a path ending in `//x:` and a request id `@` in one problem body.
    const body = JSON.stringify({ detail: 'no route GET //a:', code: 'not_found', request_id: '@' });
    expect(JSON.parse(redactor.text(body))).toEqual({ detail: 'no route GET //a:', code: 'not_found', request_id: '@' });
    const url = JSON.stringify({ url: 'https://u:pw123456@h/x', by: '@' });
    expect(JSON.parse(redactor.text(url))).toEqual({ url: 'https://u:***@h/x', by: '@' });
  });

  it('masks a known value nested deeper than the walk goes (an executor output of 200 levels)', () => {
    let nested: unknown = { token: `x ${SECRET} y`, n: 1 };
    for (let i = 0; i < 200; i++) nested = [nested];
    const text = JSON.stringify(redactor.value(nested));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('[redacted]');
    expect(text).toContain('"n":1');
  });

  it('masks every string of a JSON value, keys included, and leaves other values alone', () => {
    expect(redactor.value({ [SECRET]: [1, true, null, { deep: `x${SECRET}` }] })).toEqual({ '[redacted]': [1, true, null, { deep: 'x[redacted]' }] });
  });

  it('masks the PII patterns it is given, and only those', () => {
    const text = 'mail ada@example.com card 4111 1111 1111 1111 not-a-card 4111 1111 1111 1112 auth Bearer abcdef123456 key sk-abcdefghijk';
    expect(new Redactor().text(text)).toBe(text);
    expect(new Redactor({ pii: ['email', 'card', 'bearer'] }).text(text)).toBe(
      'mail [redacted] card [redacted] not-a-card 4111 1111 1111 1112 auth Bearer [redacted] key [redacted]',
    );
  });

  it('masks US social-security numbers with ssn, but not impossible ones or longer digit runs', () => {
    const ssn = new Redactor({ pii: ['ssn'] });
    for (const text of ['123-45-6789', 'ssn:078-05-1120.', 'SSN-899-99-9999']) {
      expect(ssn.text(text)).toContain('[redacted]');
      expect(new Redactor({ pii: ['email', 'card', 'bearer'] }).text(text)).toBe(text);
    }
    // Area 000, 666, 900–999; group 00; serial 0000; inside phone numbers, dates and longer runs.
    for (const text of [
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '999-12-3456',
      '123-00-4567',
      '123-45-0000',
      '555-123-45-6789',
      '123-45-6789-1',
      '1123-45-6789',
      '123-45-67890',
      '2024-01-15',
    ]) {
      expect(ssn.text(text)).toBe(text);
    }
  });
});

describe('secrets of the configuration', () => {
  it('are the API keys, the gateway key and URL credentials, and the database password (not user names)', () => {
    const config = loadConfig({
      env: {
        AGENTRY_API_KEYS: 'a:key-aaaaaaaaaaaaaaaa:admin; b:key-bbbbbbbbbbbbbbbb:viewer',
        AGENTRY_GATEWAY_URL: 'https://gw:gw-password@gw.internal/?token=gw-token-1&x=1',
        AGENTRY_GATEWAY_API_KEY: 'gw-key-cccccccccccc',
        AGENTRY_DATABASE_URL: 'postgres://app:db-password@db/agentry',
      },
      cwd: '/tmp',
    });
    expect(configSecrets(config).sort()).toEqual(
      ['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb', 'gw-password', 'gw-token-1', 'gw-key-cccccccccccc', 'db-password'].sort(),
    );
    expect(urlCredentials('not a url')).toEqual([]);
  });

  it('AGENTRY_REDACT_PII takes a list of known patterns (default bearer)', () => {
    expect(loadConfig({ env: {}, cwd: '/tmp' }).redactPii).toEqual(['bearer']);
    expect(loadConfig({ env: { AGENTRY_REDACT_PII: 'email, card' }, cwd: '/tmp' }).redactPii).toEqual(['email', 'card']);
    expect(loadConfig({ env: { AGENTRY_REDACT_PII: 'email,ssn,bearer' }, cwd: '/tmp' }).redactPii).toEqual(['email', 'ssn', 'bearer']);
    expect(loadConfig({ env: { AGENTRY_REDACT_PII: 'none' }, cwd: '/tmp' }).redactPii).toEqual([]);
    expect(() => loadConfig({ env: { AGENTRY_REDACT_PII: 'email,phone' }, cwd: '/tmp' })).toThrow(/AGENTRY_REDACT_PII: unknown pattern phone/);
  });
});

describe('secrets of a project', () => {
  it('are the declared secret env values, the provider keys and what tool servers render', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-secrets-'));
    try {
      for (const sub of ['workflows', 'tools']) mkdirSync(join(dir, sub));
      const files: Record<string, unknown> = {
        'agentry.yaml': { version: 'v1', env: { SHARED: { secret: true }, PUBLIC: { default: 'not-a-secret-value' } } },
        'workflows/w.yaml': { name: 'w', env: { WF_TOKEN: { secret: true }, WF_PLAIN: {} }, steps: { a: { transform: '{{ env.WF_PLAIN }}' } } },
        'gateway.yaml': {
          version: 'v1',
          env: { GW_SECRET: { secret: true } },
          providers: { oa: { type: 'openai' }, compat: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1', api_key: '{{ env.COMPAT_KEY }}' } },
          models: { m: { targets: [{ provider: 'oa', model: 'x' }] } },
        },
        'tools/t.yaml': { name: 't', url: 'http://127.0.0.1:1/mcp', headers: { Authorization: 'Bearer {{ env.TOOL_TOKEN }}' } },
      };
      for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), JSON.stringify(content));
      const env = {
        SHARED: 'shared-secret-1',
        WF_TOKEN: 'wf-token-value',
        WF_PLAIN: 'plain-value-1',
        GW_SECRET: 'gw-secret-value',
        OPENAI_API_KEY: 'openai-key-value',
        COMPAT_KEY: 'compat-key-value',
        TOOL_TOKEN: 'tool-token-value',
      };
      const project = await loadProjectOrThrow(loadConfig({ flags: { projectDir: dir }, env: {}, cwd: dir }), env);
      expect(projectSecrets(project, env).sort()).toEqual(
        ['shared-secret-1', 'wf-token-value', 'gw-secret-value', 'openai-key-value', 'compat-key-value', 'tool-token-value'].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
