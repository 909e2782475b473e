/**
 * A Docker engine for the container tests, and the image they test, built from the repository's
 * Dockerfile as it is.
 *
 * The engine: the one `docker info` answers; otherwise, as root with `dockerd` installed, one
 * started here (`dockerd --iptables=false --bridge=none`: no bridge network, so containers and
 * builds use `--network host`), stopped again by `stop()`. The base image comes from
 * scripts/docker-base-image.sh (no registry is pulled from); the image is rebuilt on every run
 * so the Dockerfile is really exercised, which Docker's layer cache makes cheap.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, execOk } from './exec.js';

export const REPO = resolve(import.meta.dirname, '../..');
/** What scripts/docker-base-image.sh makes and the Dockerfile's NODE_IMAGE build argument names. */
export const BASE_IMAGE = 'node:20-bookworm-slim-local';

export type Engine = { ok: true; started: boolean; stop: () => Promise<void> } | { ok: false; reason: string };

async function engineAnswers(): Promise<boolean> {
  return (await exec('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 }).catch(() => undefined))?.code === 0;
}

/** A Docker engine to use, started here when none answers and that is possible; why not otherwise. */
export async function ensureEngine(): Promise<Engine> {
  const client = await exec('docker', ['--version']).catch((error: NodeJS.ErrnoException) => error);
  if (client instanceof Error) return { ok: false, reason: `no docker client (${client.code ?? client.message}); apt-get install docker.io` };
  if (await engineAnswers()) return { ok: true, started: false, stop: () => Promise.resolve() };

  const dockerd = (await exec('sh', ['-c', 'command -v dockerd'])).stdout.trim();
  if (dockerd === '') return { ok: false, reason: 'no Docker engine answers and dockerd is not installed (apt-get install docker.io)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'no Docker engine answers, and only root can start dockerd here' };

  const logDir = mkdtempSync(join(tmpdir(), 'agentry-dockerd-'));
  const logFile = join(logDir, 'dockerd.log');
  const log = openSync(logFile, 'a');
  const child = spawn(dockerd, ['--iptables=false', '--bridge=none'], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    for (let i = 0; i < 300 && !exited; i++) await sleep(100);
    if (!exited) child.kill('SIGKILL');
    rmSync(logDir, { recursive: true, force: true });
  };
  for (let i = 0; i < 120 && !exited; i++) {
    if (await engineAnswers()) {
      console.log(`[docker] started ${dockerd} --iptables=false --bridge=none (pid ${child.pid}); stopped after the tests`);
      return { ok: true, started: true, stop };
    }
    await sleep(500);
  }
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  const why = exited ? 'dockerd exited' : 'dockerd did not answer within 60 s';
  await stop();
  return { ok: false, reason: `${why}:\n${tail}` };
}

/** Environment for `docker build`: the legacy builder where the buildx plugin (BuildKit) is missing. */
async function buildEnv(): Promise<Record<string, string>> {
  return (await exec('docker', ['buildx', 'version'])).code === 0 ? {} : { DOCKER_BUILDKIT: '0' };
}

async function imageId(tag: string): Promise<string | undefined> {
  const result = await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', tag]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  console.log(`[docker] ${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * Builds the repository's Dockerfile as `tag` on the local base image (made first when missing).
 * The build stage is tagged too (`<tag>-build`), so it stays in the layer cache and the images
 * an earlier run left under both tags can be removed.
 */
export async function buildImage(tag: string, labels: { version: string; revision: string; source: string }): Promise<void> {
  await timed(`base image ${BASE_IMAGE} (scripts/docker-base-image.sh)`, () =>
    execOk('bash', [join(REPO, 'scripts', 'docker-base-image.sh'), BASE_IMAGE], { timeoutMs: 600_000 }),
  );
  const env = await buildEnv();
  const previous = [await imageId(tag), await imageId(`${tag}-build`)];
  const common = ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE_IMAGE}`];
  await timed(`docker build --target build${env.DOCKER_BUILDKIT === '0' ? ' (legacy builder)' : ''}`, () =>
    execOk('docker', [...common, '--target', 'build', '-t', `${tag}-build`, REPO], { env, timeoutMs: 900_000 }),
  );
  const args = [...common, '-t', tag];
  for (const [name, value] of Object.entries({ VERSION: labels.version, REVISION: labels.revision, SOURCE: labels.source }))
    args.push('--build-arg', `${name}=${value}`);
  await timed('docker build (runtime image)', () => execOk('docker', [...args, REPO], { env, timeoutMs: 600_000 }));
  const current = new Set([await imageId(tag), await imageId(`${tag}-build`)]);
  for (const id of previous) if (id !== undefined && !current.has(id)) await exec('docker', ['image', 'rm', id]);
  const size = await execOk('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}', tag]);
  console.log(`[docker] image ${size.trim()}`);
}
