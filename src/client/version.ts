/**
 * Which servers this client speaks to (DEP-34). The client is generated from the `/v1` API of
 * Agentry 0.1; routes are only added within a major version, so every 0.x server from 0.1.0 on
 * serves what it calls. Checked once, before the first request, against `/healthz`'s `version`.
 */
import { AgentryVersionError } from './errors.js';

/** The server versions this client supports, as a semver range. */
export const SUPPORTED_SERVER_RANGE = '>=0.1.0 <1.0.0';
const MIN: Triple = [0, 1, 0];
const BELOW: Triple = [1, 0, 0];

type Triple = [number, number, number];

/** `1.2.3` (a pre-release or build suffix ignored) as numbers; undefined when it is not a version. */
export function parseVersion(text: string): Triple | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether a server of `version` is in `SUPPORTED_SERVER_RANGE`. */
export function isSupportedServer(version: string): boolean {
  const v = parseVersion(version);
  return v !== undefined && compare(v, MIN) >= 0 && compare(v, BELOW) < 0;
}

/** Rejects with `AgentryVersionError` when the server's `/healthz` names a version outside the range. */
export async function checkServerVersion(healthz: () => Promise<{ version?: unknown } | undefined>): Promise<void> {
  const body = await healthz();
  // A server that does not say (a proxy in front answering /healthz itself) is given the benefit of the doubt.
  if (typeof body?.version !== 'string') return;
  if (!isSupportedServer(body.version)) throw new AgentryVersionError(body.version, SUPPORTED_SERVER_RANGE);
}
