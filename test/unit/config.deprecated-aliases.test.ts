/**
 * DEP-24: a renamed variable keeps working under its old name (the option's `deprecatedAliases`),
 * and the process that starts logs one `config.deprecated` warning naming the new variable. No
 * option is renamed today, so this file gives two options of the real table an alias.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_OPTIONS, configTableMarkdown } from '../../src/app/config-options.js';
import type * as ConfigOptions from '../../src/app/config-options.js';
import { validateConfiguration } from '../../src/app/config-validate.js';
import { loadConfig } from '../../src/app/config.js';
import { AgentryError } from '../../src/lib/errors.js';
import { loggerFor } from '../../src/cli/context.js';
import { createAgentryHandler } from '../../src/server/embed.js';
import { captureLogs } from '../helpers/log-capture.js';
import { API_KEYS } from '../helpers/server.js';
import { removeDir, tempDir } from '../helpers/cli.js';

vi.mock('../../src/app/config-options.js', async (importOriginal) => {
  const real = await importOriginal<typeof ConfigOptions>();
  const options = {
    ...real.CONFIG_OPTIONS,
    concurrency: { ...real.CONFIG_OPTIONS.concurrency, deprecatedAliases: [{ env: 'AGENTRY_WORKER_SLOTS', since: '0.1.0' }] },
    adminApiKey: { ...real.CONFIG_OPTIONS.adminApiKey, deprecatedAliases: [{ env: 'AGENTRY_BREAK_GLASS_KEY', since: '0.1.0' }] },
  };
  return { ...real, CONFIG_OPTIONS: options };
});

let dir: string;
beforeEach(() => {
  dir = tempDir('agentry-deprecated-');
});
afterEach(() => removeDir(dir));

function logLines(env: NodeJS.ProcessEnv): Record<string, unknown>[] {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  loggerFor(loadConfig({ env, cwd: dir }), { destination: sink });
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a deprecated alias of a variable', () => {
  it('sets the option when the new variable is not set, and says so', () => {
    const config = loadConfig({ env: { AGENTRY_WORKER_SLOTS: '7' }, cwd: dir });
    expect(config.engine.concurrency).toBe(7);
    expect(config.sources.concurrency).toBe('env');
    expect(config.deprecations).toEqual([{ variable: 'AGENTRY_WORKER_SLOTS', replacement: 'AGENTRY_CONCURRENCY', since: '0.1.0', ignored: false }]);
  });

  it('logs one config.deprecated warning at startup naming the new variable', () => {
    const lines = logLines({ AGENTRY_WORKER_SLOTS: '7' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      event: 'config.deprecated',
      variable: 'AGENTRY_WORKER_SLOTS',
      replacement: 'AGENTRY_CONCURRENCY',
      since: '0.1.0',
      msg: 'AGENTRY_WORKER_SLOTS is deprecated since 0.1.0: set AGENTRY_CONCURRENCY instead (the old name is removed at the next major version)',
    });
    expect(logLines({ AGENTRY_CONCURRENCY: '7' })).toEqual([]);
  });

  it('is logged as config.deprecated by an embedded server too', async () => {
    const { logger, lines } = captureLogs('warn');
    const handler = await createAgentryHandler({
      projectDir: dir,
      env: { AGENTRY_WORKER_SLOTS: '7', AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'agentry.db')}` },
      logger,
      runWorkers: false,
    });
    await handler.close();
    expect(lines.filter((line) => line.event === 'config.deprecated')).toEqual([
      expect.objectContaining({ variable: 'AGENTRY_WORKER_SLOTS', replacement: 'AGENTRY_CONCURRENCY' }),
    ]);
  });

  it('is ignored, with a warning, when the new variable or the flag is set', () => {
    const config = loadConfig({ env: { AGENTRY_WORKER_SLOTS: '7', AGENTRY_CONCURRENCY: '3' }, cwd: dir });
    expect(config.engine.concurrency).toBe(3);
    expect(config.deprecations).toEqual([expect.objectContaining({ variable: 'AGENTRY_WORKER_SLOTS', ignored: true })]);
    const flagged = loadConfig({ flags: { concurrency: 5 }, env: { AGENTRY_WORKER_SLOTS: '7' }, cwd: dir });
    expect(flagged.engine.concurrency).toBe(5);
    expect(flagged.deprecations[0]?.ignored).toBe(true);
    expect(logLines({ AGENTRY_WORKER_SLOTS: '7', AGENTRY_CONCURRENCY: '3' })[0]?.msg).toBe(
      'AGENTRY_WORKER_SLOTS is deprecated since 0.1.0 and ignored: AGENTRY_CONCURRENCY (or its flag) is set; remove AGENTRY_WORKER_SLOTS',
    );
  });

  it('names the old variable when its value is bad', () => {
    const error = (() => {
      try {
        loadConfig({ env: { AGENTRY_WORKER_SLOTS: 'many' }, cwd: dir });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).message).toContain("AGENTRY_WORKER_SLOTS: must be a whole number, got 'many'");
  });

  it('of a secret is read from its _FILE too', () => {
    const file = join(dir, 'key');
    writeFileSync(file, 'break-glass-key-0123456789abcdef\n');
    const config = loadConfig({ env: { AGENTRY_BREAK_GLASS_KEY_FILE: file }, cwd: dir });
    expect(config.server.adminApiKey).toBe('break-glass-key-0123456789abcdef');
    expect(config.deprecations).toEqual([{ variable: 'AGENTRY_BREAK_GLASS_KEY_FILE', replacement: 'AGENTRY_ADMIN_API_KEY', since: '0.1.0', ignored: false }]);
  });

  it('is a warning of agentry config validate, and shows in the options table of the docs', async () => {
    const validation = await validateConfiguration({ flags: { projectDir: dir }, env: { AGENTRY_WORKER_SLOTS: '7' }, cwd: dir });
    expect(validation.ok).toBe(true);
    expect(validation.problems).toContainEqual({ check: 'config', severity: 'warning', message: expect.stringContaining('set AGENTRY_CONCURRENCY instead') });
    expect(configTableMarkdown(CONFIG_OPTIONS)).toContain('| `concurrency` | `AGENTRY_CONCURRENCY`<br>deprecated: `AGENTRY_WORKER_SLOTS` (since 0.1.0) |');
  });
});
