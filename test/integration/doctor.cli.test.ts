/**
 * `agentry doctor` as an operator runs it: the compiled CLI in a child process, on a project
 * whose store has a live worker and a recorded backup, against an HTTPS "API" whose self-signed
 * certificate the child trusts (`NODE_EXTRA_CA_CERTS`) — exit 0 when everything is ok or skipped,
 * 1 with a warning, 2 with a failure — the table and summary, the `--json` shape; and the TLS
 * check refusing that certificate where it is not trusted.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, type DoctorReport } from '../../src/app/doctor.js';
import { openStore } from '../../src/store/open.js';
import { killAll, runCli, runCliInProcess } from '../helpers/cli.js';
import { selfSignedCertificate } from '../helpers/proxy.js';
import { tempDir } from '../helpers/store.js';

const { dir, remove } = tempDir('agentry-doctor-cli-');
mkdirSync(join(dir, 'workflows'));
writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: doc\negress:\n  allow: ["127.0.0.1"]\n  deny: []\n');
writeFileSync(join(dir, 'workflows', 'noop.yaml'), 'version: v1\nname: noop\nsteps:\n  a:\n    transform: 1\n');
const RETAINED = { AGENTRY_PROJECT_DIR: dir, AGENTRY_RETENTION_SUCCEEDED: '30d' };

const certs = tempDir('agentry-doctor-tls-');
let CERT: string;
let https: Server;
let apiUrl: string;

afterEach(killAll);
afterAll(async () => {
  await new Promise((resolve) => https.close(resolve));
  certs.remove();
  remove();
});

beforeAll(async () => {
  const migrated = await runCliInProcess(['migrate', '--dir', dir]);
  expect(migrated.code, migrated.stderr).toBe(0);
  const store = openStore({ kind: 'sqlite', file: join(dir, '.agentry', 'agentry.db') });
  try {
    const now = Date.now();
    await store.upsertWorker({ id: 'wrk_cli', host: 'h1', pid: 1, roles: ['worker', 'scheduler'], concurrency: 4, startedAt: now, heartbeatAt: now });
  } finally {
    await store.close();
  }
  const backup = await runCliInProcess(['backup', '--out', join(dir, 'ready.backup'), '--quiet', '--dir', dir]);
  expect(backup.code, backup.stderr).toBe(0);
  // What the API looks like through a TLS proxy: /livez and /readyz answer 200, X-Request-ID comes back.
  const { cert, key } = selfSignedCertificate(certs.dir, 30);
  CERT = cert;
  https = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': String(req.headers['x-request-id'] ?? 'none'), connection: 'close' });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  apiUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
});

describe('agentry doctor (child process)', () => {
  it('exits 0 when every check is ok or skipped, printing the table and the summary', async () => {
    const res = await runCli(['doctor', '--url', apiUrl], { env: { ...RETAINED, NODE_EXTRA_CA_CERTS: CERT } });
    expect(res.stderr).toBe('');
    expect(res.code, res.stdout).toBe(0);
    expect(res.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL$/m);
    expect(res.stdout).toMatch(/^workers\s+✓ ok\s+1 live worker \(wrk_cli on h1\)$/m);
    expect(res.stdout).toMatch(/^backup\s+✓ ok\s+last backup \d+\w+ ago \(backup:ready\.backup recorded in the store/m);
    expect(res.stdout).toMatch(/^probes\s+✓ ok\s+GET https:\/\/127\.0\.0\.1:\d+\/livez and \/readyz answer 200$/m);
    expect(res.stdout).toMatch(/^tls\s+✓ ok\s+the certificate of 127\.0\.0\.1:\d+ verifies and is valid for (29|30)d .*; X-Request-ID round-trips$/m);
    expect(res.stdout).toMatch(/^tools\s+- skip\s+skipped: no tool servers configured/m);
    expect(res.stdout).toContain('ready: 12 ok, 0 warn, 0 fail, 2 skipped.');
    expect(res.stdout).not.toContain('To fix');
  });

  it('exits 1 with a warning; --json prints { status, checks } with every check once, the warning with its hint and docs', async () => {
    const res = await runCli(['doctor', '--json'], { env: { AGENTRY_PROJECT_DIR: dir } });
    expect(res.code, res.stdout).toBe(1);
    const report = JSON.parse(res.stdout) as DoctorReport;
    expect(Object.keys(report)).toEqual(['status', 'checks']);
    expect(report.status).toBe('warn');
    expect(report.checks.map((c) => c.id)).toEqual(DOCTOR_CHECKS.map((c) => c.id));
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(
        c.status === 'warn' || c.status === 'fail' ? ['detail', 'docs', 'hint', 'id', 'status', 'title'] : ['detail', 'docs', 'id', 'status', 'title'],
      );
    }
    expect(report.checks.find((c) => c.id === 'retention')).toMatchObject({ status: 'warn', docs: 'docs/operations/retention.md#settings' });
  });

  it('exits 2 with a failure (a certificate this host does not trust), naming the fix', async () => {
    const res = await runCli(['doctor', '--url', apiUrl], { env: RETAINED });
    expect(res.code, res.stdout).toBe(2);
    expect(res.stdout).toMatch(/^tls\s+✗ fail\s+TLS to 127\.0\.0\.1:\d+ does not verify: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/m);
    expect(res.stdout).toMatch(/^probes\s+✗ fail\s+GET https:\/\/127\.0\.0\.1:\d+\/livez failed/m);
    expect(res.stdout).toContain('To fix');
    expect(res.stdout).toContain('(docs/operations/tls-and-proxies.md#behind-a-reverse-proxy)');
    expect(res.stdout).toContain('not ready: ');
  });
});
