/**
 * The systemd units in deploy/systemd/: every unit passes `systemd-analyze verify` (no unknown
 * key, no setting it cannot parse), and every service restarts on failure, stops gracefully and
 * carries the hardening set. Without `systemd-analyze` (a host without systemd) the verify test
 * is skipped with a printed reason; the other checks still run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const DIR = resolve(import.meta.dirname, '../../deploy/systemd');
const SERVICES = ['agentry.service', 'agentry-api.service', 'agentry-worker@.service', 'agentry-scheduler.service', 'agentry-gateway.service'];
const UNITS = [...SERVICES, 'agentry.target'];

/** Key → values of one section of a unit file (comments and blank lines left out). */
function section(text: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    if (current !== name || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return keys;
}

const service = (file: string): Map<string, string[]> => section(readFileSync(join(DIR, file), 'utf8'), 'Service');
const last = (keys: Map<string, string[]>, key: string): string | undefined => keys.get(key)?.at(-1);

function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
}

describe('deploy/systemd units', () => {
  it('ships exactly the units the install guide names, and the environment example', () => {
    const files = readdirSync(DIR).sort();
    expect(files).toEqual([...UNITS, 'agentry.env.example'].sort());
    const guide = readFileSync(resolve(DIR, '../../docs/operations/systemd.md'), 'utf8');
    for (const unit of UNITS) expect(guide, unit).toContain(unit);
  });

  it.each(SERVICES)('%s restarts on failure, stops gracefully and is hardened', (file) => {
    const keys = service(file);
    expect(last(keys, 'Restart')).toBe('on-failure');
    expect(last(keys, 'RestartSec')).toBe('5');
    expect(last(keys, 'User')).toBe('agentry');
    expect(last(keys, 'WorkingDirectory')).toBe('/var/lib/agentry');
    expect(last(keys, 'StateDirectory')).toBe('agentry');
    // The data directory is the service user's (and its group's): 0750, nothing for other users (SEC-06).
    expect(last(keys, 'StateDirectoryMode')).toBe('0750');
    expect(last(keys, 'UMask')).toBe('0077');
    expect(last(keys, 'EnvironmentFile')).toBe('/etc/agentry/agentry.env');
    expect(last(keys, 'ExecStart')).toMatch(/^\/usr\/bin\/env agentry (serve|start (api|worker|scheduler|gateway))\b/);
    // Above the default AGENTRY_SHUTDOWN_GRACE (10s), so running steps get their grace before SIGKILL.
    expect(last(keys, 'KillSignal')).toBe('SIGTERM');
    expect(Number.parseInt(last(keys, 'TimeoutStopSec') ?? '0', 10)).toBeGreaterThan(10);
    const hardening: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      ReadWritePaths: '/var/lib/agentry',
      ProtectKernelTunables: 'yes',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
      LockPersonality: 'yes',
      SystemCallArchitectures: 'native',
      CapabilityBoundingSet: '',
    };
    for (const [key, value] of Object.entries(hardening)) expect(last(keys, key), key).toBe(value);
    // V8's JIT needs writable and executable memory: this setting would crash node at start.
    expect(keys.has('MemoryDenyWriteExecute')).toBe(false);
    expect(section(readFileSync(join(DIR, file), 'utf8'), 'Install').get('WantedBy')).toEqual(['agentry.target']);
  });

  it('gives every role on one host its own probe port', () => {
    const ports = SERVICES.map((file) => /--probe-port (\S+)/.exec(last(service(file), 'ExecStart') ?? '')?.[1]).filter((port) => port !== undefined);
    expect(ports).toEqual(['%i', '7703', '7704']);
  });

  describe('systemd-analyze verify', () => {
    const available = hasSystemdAnalyze();
    if (!available) console.warn('deploy.systemd.test.ts: systemd-analyze not found, skipping `systemd-analyze verify` of deploy/systemd');
    const tmp = mkdtempSync(join(tmpdir(), 'agentry-systemd-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it.skipIf(!available)('accepts every unit: no unknown key or section, no bad setting', () => {
      for (const unit of UNITS) copyFileSync(join(DIR, unit), join(tmp, unit));
      // ExecStart=/usr/bin/env exists on every systemd host, so verify's binary check passes as shipped.
      const paths = UNITS.map((unit) => join(tmp, unit.replace('@.service', '@7702.service')));
      const result = spawnSync('systemd-analyze', ['verify', ...paths], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
      const aboutOurUnits = `${result.stdout}${result.stderr}`
        .split('\n')
        .filter((line) => line.includes(tmp) || /Unknown (key|section)|bad-setting/i.test(line));
      expect(aboutOurUnits).toEqual([]);
      expect(result.status, result.stderr).toBe(0);
    });
  });
});
