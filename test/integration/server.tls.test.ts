/**
 * Native TLS (`--tls-cert` / `--tls-key`, `AGENTRY_TLS_CERT` / `AGENTRY_TLS_KEY`): `agentry serve`
 * (the compiled CLI) serves HTTPS with a self-signed certificate made by `openssl` at test time,
 * plain HTTP on that port fails, the probe port of `start worker` serves HTTPS too, and a lone
 * flag or a missing file stops the process with a message naming it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleProject, killAll, removeDir, runCliInProcess, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const opensslMissing = !hasOpenssl() && process.env.CI !== 'true';
const KEYS = 'ops:tls-test-key-0123456789abcdef0123456789:admin';

/** GET over HTTPS trusting `ca`; resolves with the status code. */
function httpsGet(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET over plain HTTP; resolves with the status code, rejects when the connection fails. */
function httpGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listeningUrl(proc: CliProcess, pattern: RegExp): Promise<string> {
  await waitForOutput(proc, (stderr, stdout) => pattern.test(stdout + stderr) || proc.child.exitCode !== null);
  const match = pattern.exec(proc.stdout + proc.stderr);
  if (!match) throw new Error(`no URL in the output:\n${proc.stdout}\n${proc.stderr}`);
  return match[1]!;
}

describe.skipIf(opensslMissing)('native TLS', () => {
  const project = exampleProject();
  const certFile = join(project, 'tls.crt');
  const keyFile = join(project, 'tls.key');
  if (!opensslMissing) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
  }
  const env = { AGENTRY_API_KEYS: KEYS };

  afterAll(async () => {
    await killAll();
    removeDir(project);
  });

  it('serve answers https:// with the certificate, and plain http:// on that port fails', async () => {
    const ca = readFileSync(certFile);
    const proc = startCli(['serve', project, '--port', '0', '--tls-cert', certFile, '--tls-key', keyFile], { env });
    const url = await listeningUrl(proc, /listening on (https?:\/\/\S+)/);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${url}/livez`, ca)).toBe(200);
    await expect(httpGet(`${url.replace('https://', 'http://')}/livez`)).rejects.toThrow();
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
  });

  it("start worker's probe port serves https:// under AGENTRY_TLS_CERT / AGENTRY_TLS_KEY", async () => {
    const ca = readFileSync(certFile);
    const proc = startCli(['start', 'worker', '--dir', project, '--probe-port', '0'], {
      env: { ...env, AGENTRY_TLS_CERT: certFile, AGENTRY_TLS_KEY: keyFile },
    });
    const url = await listeningUrl(proc, /probes and \/metrics on (https?:\/\/[^\s"]+)/);
    expect(url).toMatch(/^https:\/\//);
    expect(await httpsGet(`${url}/livez`, ca)).toBe(200);
    proc.child.kill('SIGTERM');
    await proc.done;
  });

  it('refuses --tls-cert without --tls-key, naming the missing option', async () => {
    const result = await runCliInProcess(['serve', project, '--port', '0', '--tls-cert', certFile], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--tls-cert: is set without --tls-key / AGENTRY_TLS_KEY');
    expect(result.stdout).not.toContain('listening');
  });

  it('refuses AGENTRY_TLS_KEY without AGENTRY_TLS_CERT', async () => {
    const result = await runCliInProcess(['serve', project, '--port', '0'], { env: { ...env, AGENTRY_TLS_KEY: keyFile } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('AGENTRY_TLS_KEY: is set without --tls-cert / AGENTRY_TLS_CERT');
  });

  it('refuses a certificate file that does not exist, naming it', async () => {
    const missing = join(project, 'nope.crt');
    const result = await runCliInProcess(['serve', project, '--port', '0', '--tls-cert', missing, '--tls-key', keyFile], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`AGENTRY_TLS_CERT: ${missing} does not exist`);
    expect(result.stdout).not.toContain('listening');
  });

  it('refuses a key that is not a PEM key', async () => {
    const result = await runCliInProcess(['serve', project, '--port', '0', '--tls-cert', certFile, '--tls-key', certFile], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('do not load as a PEM certificate and its unencrypted private key');
  });
});
