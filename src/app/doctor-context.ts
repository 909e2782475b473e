/**
 * What every check of `agentry doctor` works from (`doctor.ts` runs them): the options, the
 * configuration as `agentry config validate` judges it, and the project and store, each opened
 * once on first use. A check whose prerequisite is missing (no configuration, no store) throws
 * `Unavailable`, which the runner shows as a skip naming the check to fix first.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { loadProjectOrThrow, type Project } from './bootstrap.js';
import type { Config } from './config.js';
import type { ConfigValidation } from './config-validate.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** What one check found: its status, one line saying what it saw, and for a warn or fail what to do. */
export interface Outcome {
  status: DoctorStatus;
  detail: string;
  hint?: string;
}

/** A check as the runner (`doctor.ts`) knows it. */
export interface CheckDefinition {
  /** Stable: scripts and docs refer to it. */
  id: string;
  title: string;
  /** The docs section that explains the fix. */
  docs: string;
  /** The fix, shown with a warn or fail whose outcome names none. */
  hint: string;
  /** Longest the check may take (default 10 s). */
  timeoutMs?: number;
  /** Runs before the others, alone (its timing is not skewed by theirs). */
  first?: boolean;
  run(ctx: DoctorContext): Promise<Outcome>;
}

/** Free and total bytes of the filesystem holding a path. */
export interface DiskReading {
  freeBytes: number;
  totalBytes: number;
}

export interface DoctorOptions {
  /** As for every command: `--dir`, `--env`, `--backup-dir`. */
  flags: { projectDir?: string | undefined; env?: string | undefined; backupDir?: string | undefined };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The API's base URL for the probes and the TLS and proxy-header checks (default: `AGENTRY_URL`); none: those are skipped. */
  url?: string | undefined;
  /** Make one 1-token call to each provider (default: only check keys and dial configured base URLs). */
  providers?: boolean;
  /** Start each tool server and list its tools (default: skipped). */
  tools?: boolean;
  /** Clock (epoch ms). */
  now?: () => number;
  /** Reads a filesystem's free space (default: `statfs`). */
  statfs?: (path: string) => Promise<DiskReading>;
}

/** `statfs` as a `DiskReading`: the space an unprivileged process may use. */
export async function readDisk(path: string): Promise<DiskReading> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** A check cannot run because something another check reports is missing: shown as a skip. */
export class Unavailable extends Error {}

export class DoctorContext {
  readonly now: () => number;
  readonly statfs: (path: string) => Promise<DiskReading>;
  private storePromise: Promise<Store> | undefined;
  private projectPromise: Promise<Project> | undefined;
  private opened: Store | undefined;
  /** Why the database did not answer, once the `database` check found it so (the other store checks then skip at once). */
  databaseDown: string | undefined;

  constructor(
    readonly options: DoctorOptions,
    readonly validation: ConfigValidation,
    /** Undefined when the configuration does not load (the `config` check says why). */
    readonly loaded: Config | undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.statfs = options.statfs ?? readDisk;
  }

  get config(): Config {
    if (this.loaded === undefined) throw new Unavailable('the configuration does not load (see config)');
    return this.loaded;
  }

  /** The API base to probe, or undefined (`--url`, else `AGENTRY_URL`). */
  get url(): string | undefined {
    return (this.options.url ?? this.loaded?.client.url)?.replace(/\/+$/, '');
  }

  /** The project (or bundle) as a process would load it. */
  project(): Promise<Project> {
    const config = this.config;
    this.projectPromise ??= loadProjectOrThrow(config, this.options.env);
    return this.projectPromise.catch((error: unknown) => {
      throw new Unavailable(`the project does not load (see config): ${(error as Error).message.split('\n')[0] ?? ''}`);
    });
  }

  /** The configured store, opened as it is (never created, never migrated). */
  store(): Promise<Store> {
    const config = this.config;
    this.storePromise ??= new Promise<Store>((resolve) => {
      if (config.database.kind === 'sqlite' && config.database.file !== ':memory:' && !existsSync(config.database.file)) {
        throw new Unavailable(`there is no store at ${config.database.file} yet (a process creates it when it first starts)`);
      }
      const location = config.database.kind === 'sqlite' ? config.database : { kind: 'postgres' as const, url: config.databaseUrl };
      this.opened = openStore(location, config.database.kind === 'postgres' ? { ...config.database.options, connectTimeoutMs: 3_000 } : {});
      resolve(this.opened);
    });
    return this.storePromise;
  }

  /** The store, once the `database` check found it answering; otherwise `Unavailable`. */
  async answeringStore(): Promise<Store> {
    if (this.databaseDown !== undefined) throw new Unavailable(`the database does not answer (see database)`);
    const store = await this.store();
    try {
      await store.ping();
    } catch {
      throw new Unavailable('the database does not answer (see database)');
    }
    return store;
  }

  async close(): Promise<void> {
    await this.opened?.close();
  }
}
