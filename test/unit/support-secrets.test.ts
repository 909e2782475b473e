/**
 * What the support bundle masks besides what the server knows (environment variables named like
 * credentials, the files `*_FILE` variables name, `name=value` pairs of credentials), and which
 * log lines its errors.log keeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProblemLine, recentProblems } from '../../src/app/support-logs.js';
import { environmentSecrets, maskSecretPairs } from '../../src/app/support-secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'agentry-support-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('environmentSecrets', () => {
  it('takes credential-named values and the content of *_FILE files, not other variables', () => {
    writeFileSync(join(dir, 'db-pass'), 'file-held-password-1\n');
    const found = environmentSecrets({
      STRIPE_API_KEY: 'sk_live_abcdef123',
      MY_PASSPHRASE: 'long passphrase here',
      DB_PASSWORD_FILE: join(dir, 'db-pass'),
      MISSING_TOKEN_FILE: join(dir, 'nope'),
      HOME: '/home/someone',
      AGENTRY_LOG_LEVEL: 'info',
    });
    expect(found).toEqual(expect.arrayContaining(['sk_live_abcdef123', 'long passphrase here', 'file-held-password-1']));
    expect(found).not.toContain('/home/someone');
    expect(found).not.toContain('info');
  });
});

describe('maskSecretPairs', () => {
  it('masks the value of credential-named pairs and keeps their names', () => {
    expect(maskSecretPairs('retry with token=abc123def&x=1')).toBe('retry with token=[redacted]&x=1');
    expect(maskSecretPairs('{"db_password": "hunter22", "user": "ada"}')).toBe('{"db_password": "[redacted]", "user": "ada"}');
    expect(maskSecretPairs('client_secret: s3cr3tvalue')).toBe('client_secret: [redacted]');
    expect(maskSecretPairs('tokens spent: 1200')).toBe('tokens spent: 1200');
  });
});

describe('errors.log', () => {
  it('keeps warnings and worse: pino levels from 40, other lines by their words', async () => {
    expect(isProblemLine(JSON.stringify({ level: 30, msg: 'error in the message but info level' }))).toBe(false);
    expect(isProblemLine(JSON.stringify({ level: 40, msg: 'slow' }))).toBe(true);
    expect(isProblemLine('2026-12-05 ERROR something broke')).toBe(true);
    expect(isProblemLine('all fine')).toBe(false);
    const log = join(dir, 'a.log');
    writeFileSync(log, ['all fine', 'WARN disk 91% full', JSON.stringify({ level: 50, msg: 'boom' })].join('\n'));
    const text = await recentProblems([log]);
    expect(text).toContain(`# ${log}: 2 warning/error line(s)`);
    expect(text).not.toContain('all fine');
    expect(await recentProblems([])).toContain('No log file was given (--log-file <path>)');
  });
});
