/**
 * `agentry support-bundle`: the bundle of this configuration's deployment (see
 * `support-bundle.ts` for the archive, `support-collectors.ts` for its files). The project is
 * loaded only for its secrets (masked); the store is opened once, read only, never created, and
 * closed at the end. Through `remote` it also reads a server's `/metrics` and `/readyz`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AgentryError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { loadProjectOrThrow, openAgentry, storeExists, type Agentry, type Project } from './bootstrap.js';
import type { Caller } from './caller.js';
import type { Config } from './config.js';
import type { DoctorOptions } from './doctor.js';
import { missingStoreLocation } from './local.js';
import { writeSupportBundle, type SupportBundleResult } from './support-bundle.js';
import { supportCollectors } from './support-collectors.js';
import type { BundleContext, RemoteSource } from './support-context.js';
import { bundleRedactor, maskSecretPairs } from './support-secrets.js';

export type { SupportBundleResult } from './support-bundle.js';
export type { RemoteSource } from './support-context.js';

export interface SupportBundleRequest {
  config: Config;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  caller: Caller;
  out: string;
  runIds: readonly string[];
  logFiles: readonly string[];
  /** How `agentry doctor` would be run here: its report is `doctor.json`. */
  doctor: DoctorOptions;
  remote?: RemoteSource | undefined;
  onProgress?: (line: string) => void;
}

/** The project for its secrets; undefined (and why) when there is none or it does not load. */
async function projectOf(config: Config, env: NodeJS.ProcessEnv): Promise<{ project?: Project; note: string }> {
  if (!existsSync(join(config.projectDir, 'agentry.yaml'))) return { note: `no project at ${config.projectDir}` };
  try {
    return { project: await loadProjectOrThrow(config, env), note: `project ${config.projectDir}` };
  } catch (error) {
    return {
      note: `project ${config.projectDir} did not load (${(error as Error).message.split('\n')[0] ?? ''}); its declared secrets were masked by name only`,
    };
  }
}

export async function writeDeploymentBundle(request: SupportBundleRequest): Promise<SupportBundleResult> {
  const { config, env, logger } = request;
  const now = Date.now();
  const { project, note } = await projectOf(config, env);
  const redactor = bundleRedactor(config, env, project);
  let opened: Promise<Agentry> | undefined;
  const open = (): Promise<Agentry> => {
    // Reading never creates the store.
    if (!storeExists(config)) return Promise.reject(new AgentryError('not_found', `there is no store at ${missingStoreLocation(config)}`));
    // Never migrates either: a schema behind the build is for migrations.json to show.
    opened ??= openAgentry({ ...config, autoMigrate: false }, { logger, env, withoutProject: true, logRuns: false, redactor });
    return opened;
  };
  const context: BundleContext = {
    config,
    project,
    open,
    remote: request.remote,
    logFiles: request.logFiles,
    caller: request.caller,
    doctor: request.doctor,
    now,
  };
  const header = [
    `Agentry support bundle, written ${new Date(now).toISOString()} by agentry ${VERSION}.`,
    `Configuration: ${note}; store ${config.database.kind}${request.remote ? `; server ${request.remote.url}` : ''}.`,
    "Every file passed through a redactor holding the configuration's and the project's secrets, every credential-named",
    'environment variable and *_FILE file, and the TLS key; key-shaped tokens (Bearer …, sk-…, api_key=…, token=…) are masked too.',
  ].join('\n');
  try {
    return await writeSupportBundle({
      out: request.out,
      collectors: supportCollectors(request.runIds),
      context,
      mask: (text) => maskSecretPairs(redactor.text(text)),
      header,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    });
  } finally {
    const app = await opened?.catch(() => undefined);
    await app?.close();
  }
}
