/**
 * The npm registry client of `agentry plugins`: a package's packument, a version's tarball
 * checked against its integrity hash, unpacked with `tar`. Each failure is a
 * `plugin_install_failed` that says which: registry unreachable, package or version not found,
 * integrity mismatch, a tarball that does not unpack.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { AgentryError } from '../lib/errors.js';

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';
const FETCH_TIMEOUT_MS = 30_000;

/** The registry to use: `--registry`, else `npm_config_registry`, else the project's `.npmrc`, else npmjs.org. */
export function registryUrl(explicit: string | undefined, env: NodeJS.ProcessEnv, projectDir: string): string {
  let url = explicit ?? env['npm_config_registry'] ?? env['NPM_CONFIG_REGISTRY'];
  if (url === undefined) {
    const npmrc = path.join(projectDir, '.npmrc');
    if (existsSync(npmrc)) {
      const line = readFileSync(npmrc, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /^registry\s*=/.test(l));
      if (line !== undefined) url = line.slice(line.indexOf('=') + 1).trim();
    }
  }
  url ??= DEFAULT_REGISTRY;
  return url.endsWith('/') ? url : `${url}/`;
}

/** `name@1.2.3` or `@scope/name@1.2.3` → its parts (`version` undefined when not given). */
export function parsePackageSpec(spec: string): { name: string; version: string | undefined } {
  const at = spec.lastIndexOf('@');
  const name = at > 0 ? spec.slice(0, at) : spec;
  const version = at > 0 ? spec.slice(at + 1) : undefined;
  if (!/^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/.test(name)) {
    throw new AgentryError('invalid_request', `'${spec}' is not an npm package name (name@x.y.z)`);
  }
  if (version !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new AgentryError('invalid_request', `'${spec}': plugins are installed at an exact version (name@1.2.3), not '${version}'`);
  }
  return { name, version };
}

export interface PackageVersion {
  name: string;
  version: string;
  tarball: string;
  integrity: string;
}

export interface Packument {
  name: string;
  latest: string | undefined;
  versions: Record<string, PackageVersion>;
}

async function get(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    const reason = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new AgentryError('plugin_install_failed', `registry unreachable: ${what} (${url}): ${reason?.code ?? reason?.message ?? (error as Error).message}`, {
      cause: error,
      details: { url },
    });
  }
  return response;
}

/** The package's packument from `registry`. */
export async function fetchPackument(registry: string, name: string): Promise<Packument> {
  const url = `${registry}${name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name)}`;
  const response = await get(url, `fetching ${name}`);
  if (response.status === 404) throw new AgentryError('plugin_install_failed', `package ${name} not found in the registry ${registry}`, { details: { url } });
  if (!response.ok) throw new AgentryError('plugin_install_failed', `the registry ${registry} answered ${response.status} for ${name}`, { details: { url } });
  let body: { name?: unknown; 'dist-tags'?: { latest?: unknown }; versions?: Record<string, { dist?: { tarball?: unknown; integrity?: unknown } }> };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new AgentryError('plugin_install_failed', `the registry ${registry} sent a packument for ${name} that is not JSON`, { cause: error });
  }
  const versions: Record<string, PackageVersion> = {};
  for (const [version, entry] of Object.entries(body.versions ?? {})) {
    const tarball = entry.dist?.tarball;
    const integrity = entry.dist?.integrity;
    if (typeof tarball === 'string' && typeof integrity === 'string' && integrity.startsWith('sha512-'))
      versions[version] = { name, version, tarball, integrity };
  }
  const latest = body['dist-tags']?.latest;
  return { name, latest: typeof latest === 'string' ? latest : undefined, versions };
}

/** `version` of the packument, or `plugin_install_failed` listing the versions there are. */
export function pickVersion(packument: Packument, version: string | undefined): PackageVersion {
  const wanted = version ?? packument.latest;
  const found = wanted === undefined ? undefined : packument.versions[wanted];
  if (found === undefined) {
    const known = Object.keys(packument.versions).slice(-10).join(', ') || 'none';
    throw new AgentryError('plugin_install_failed', `version ${wanted ?? '(latest)'} of ${packument.name} not found in the registry (versions: ${known})`);
  }
  return found;
}

export function sha512Integrity(data: Buffer): string {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

/** Downloads the tarball, checks it against `integrity` and unpacks it into `dest` (created). */
export async function fetchAndUnpack(tarballUrl: string, integrity: string, dest: string): Promise<void> {
  const response = await get(tarballUrl, 'downloading the tarball');
  if (!response.ok) throw new AgentryError('plugin_install_failed', `tarball ${tarballUrl}: the registry answered ${response.status}`);
  const data = Buffer.from(await response.arrayBuffer());
  const actual = sha512Integrity(data);
  if (actual !== integrity) {
    throw new AgentryError('plugin_install_failed', `integrity mismatch for ${tarballUrl}: expected ${integrity}, got ${actual}; nothing was installed`, {
      details: { expected: integrity, actual },
    });
  }
  mkdirSync(dest, { recursive: true });
  const file = path.join(dest, '..', `${path.basename(dest)}.tgz`);
  writeFileSync(file, data);
  try {
    await tar.x({ file, cwd: dest, strip: 1, strict: true, preservePaths: false });
  } catch (error) {
    throw new AgentryError('plugin_install_failed', `tarball ${tarballUrl} does not unpack: ${(error as Error).message}`, { cause: error });
  }
}

/** Whether the registry answers (`npm ping`'s endpoint): undefined when it does, else why not. */
export async function pingRegistry(registry: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${registry}-/ping`, { signal: AbortSignal.timeout(10_000) });
    return response.status < 500 ? undefined : `answered ${response.status}`;
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause;
    return `unreachable: ${reason?.code ?? (error as Error).message}`;
  }
}
