/**
 * The settings of request logs, client addresses and readiness detail: their defaults, their
 * validation at startup, and the warning about a debug log level in production.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { loggerFor } from '../../src/cli/context.js';
import { addressMatcher, LOOPBACK_CIDRS } from '../../src/lib/address-list.js';
import { AgentryError } from '../../src/lib/errors.js';
import { removeDir, tempDir } from '../helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('agentry-config-obs-');
});
afterEach(() => {
  removeDir(dir);
});

const load = (env: Record<string, string>) => loadConfig({ cwd: dir, env });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentryError);
    return ((error as AgentryError).details as { problems: string[] }).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('request log and client address settings', () => {
  it('defaults: request logs on, no trusted proxy, readiness detail internal to loopback, development', () => {
    const config = load({});
    expect(config.env).toBe('development');
    expect(config.server).toMatchObject({ requestLogs: true, trustedProxies: [], readyzDetail: 'internal', readyzTrusted: [...LOOPBACK_CIDRS] });
  });

  it('reads AGENTRY_REQUEST_LOGS, AGENTRY_TRUSTED_PROXIES, AGENTRY_READYZ_DETAIL and AGENTRY_READYZ_TRUSTED', () => {
    const config = load({
      AGENTRY_REQUEST_LOGS: 'false',
      AGENTRY_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1,fd00::/8',
      AGENTRY_READYZ_DETAIL: 'full',
      AGENTRY_READYZ_TRUSTED: '10.1.0.0/16',
      AGENTRY_ENV: 'production',
    });
    expect(config.env).toBe('production');
    expect(config.server).toMatchObject({
      requestLogs: false,
      trustedProxies: ['10.0.0.0/8', '192.168.1.1', 'fd00::/8'],
      readyzDetail: 'full',
      readyzTrusted: ['10.1.0.0/16'],
    });
  });

  it('refuses addresses that are not IPs or CIDR blocks, unknown detail modes, environments and log levels', () => {
    const problems = problemsOf({
      AGENTRY_TRUSTED_PROXIES: 'proxy.internal,10.0.0.0/33',
      AGENTRY_READYZ_TRUSTED: '*',
      AGENTRY_READYZ_DETAIL: 'secret',
      AGENTRY_ENV: 'staging',
      AGENTRY_LOG_LEVEL: 'loud',
    }).join('\n');
    expect(problems).toMatch(/AGENTRY_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or CIDR block/);
    expect(problems).toMatch(/AGENTRY_TRUSTED_PROXIES: '10.0.0.0\/33' is not an IP address or CIDR block/);
    expect(problems).toMatch(/AGENTRY_READYZ_TRUSTED: '\*' is not/);
    expect(problems).toMatch(/AGENTRY_READYZ_DETAIL: must be equal to one of the allowed values \(internal, full\)/);
    expect(problems).toMatch(/AGENTRY_ENV: must be equal to one of the allowed values \(development, production\)/);
    expect(problems).toMatch(/AGENTRY_LOG_LEVEL: must be equal to one of the allowed values/);
  });

  it('matches addresses against the list, IPv4-mapped IPv6 peers included', () => {
    const trusted = addressMatcher(['10.0.0.0/8', '::1']);
    expect(trusted('10.2.3.4')).toBe(true);
    expect(trusted('::ffff:10.2.3.4')).toBe(true);
    expect(trusted('::1')).toBe(true);
    expect(trusted('11.0.0.1')).toBe(false);
    expect(trusted(undefined)).toBe(false);
    expect(trusted('not an address')).toBe(false);
  });
});

describe('log level in production', () => {
  function warningsOf(env: Record<string, string>): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    loggerFor(load(env), { destination });
    return lines.filter((l) => l.level === 'warn');
  }

  it('logs one startup warning for debug or trace with AGENTRY_ENV=production', () => {
    for (const level of ['debug', 'trace']) {
      const warnings = warningsOf({ AGENTRY_ENV: 'production', AGENTRY_LOG_LEVEL: level });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        env: 'production',
        log_level: level,
        msg: expect.stringContaining(`AGENTRY_LOG_LEVEL=${level} in production`) as unknown,
      });
    }
  });

  it('says nothing for info in production, or debug in development', () => {
    expect(warningsOf({ AGENTRY_ENV: 'production', AGENTRY_LOG_LEVEL: 'info' })).toEqual([]);
    expect(warningsOf({ AGENTRY_LOG_LEVEL: 'debug' })).toEqual([]);
  });
});
