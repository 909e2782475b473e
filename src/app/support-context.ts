/** What a support bundle's collectors read from (`support-collectors.ts`, `support-runs.ts`). */
import type { Agentry, Project } from './bootstrap.js';
import type { Caller } from './caller.js';
import type { Config } from './config.js';
import type { DoctorOptions } from './doctor.js';
import { createServices, type Services } from './services.js';

/** The server a bundle also reads from (`--url`): a GET of one path, whatever its status. */
export interface RemoteSource {
  url: string;
  get(path: string, accept: string): Promise<{ status: number; text: string }>;
}

export interface BundleContext {
  config: Config;
  /** The project, when one loaded (its secrets are masked; its workflows are not needed). */
  project: Project | undefined;
  /** The store and engine of the configuration, opened once on first use; a failure is each store collector's error. */
  open(): Promise<Agentry>;
  remote: RemoteSource | undefined;
  /** Log files to take recent warnings and errors from (`--log-file`). */
  logFiles: readonly string[];
  /** Who reads: the local operator (every tenant). */
  caller: Caller;
  /** How `agentry doctor` would be run here (`doctor.json`). */
  doctor: DoctorOptions;
  now: number;
}

/** The services on the bundle's store. */
export async function servicesOf(ctx: BundleContext): Promise<Services> {
  return createServices(await ctx.open());
}
