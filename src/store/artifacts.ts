/**
 * The artifact store: the files a run's steps wrote (docs/artifacts.md). One interface, two
 * backends, chosen by the store:
 *
 * - `table` (PostgreSQL, and an in-memory SQLite store): the bytes in `run_artifacts.content`.
 * - `directory` (an SQLite file): the bytes in `<dir of the database>/artifacts/<tenant>/<run>/<name>`,
 *   the row (content NULL) in `run_artifacts`. Paths are confined to the run's folder: names are
 *   normalised relative paths (`lib/artifact-path.ts`), and a folder or file on the way that is a
 *   symbolic link leading out of it is refused. Files are written to a temporary file, then
 *   renamed into place once the row is committed.
 *
 * Rows are deleted with their run (foreign key); `forgetRuns` removes a directory backend's folders
 * of runs the retention deleted.
 */
import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { normalizeArtifactName } from '../lib/artifact-path.js';
import { AgentryError } from '../lib/errors.js';
import * as sqlArtifacts from './sql/artifacts.js';
import type { Db } from './sql/dialect.js';
import type { ArtifactRecord, NewArtifact } from './store-types.js';

/** What a step writes. */
export interface ArtifactWrite {
  runId: string;
  tenantId: string;
  stepId: string;
  /** A relative path; normalised, or refused with `artifact_denied`. */
  name: string;
  contentType: string;
  content: Uint8Array;
  /** The run's artifacts together may not pass this many bytes (`artifact_too_large`). */
  maxRunBytes: number;
}

export interface ArtifactStore {
  readonly backend: 'table' | 'directory';
  /** Stores an artifact (replacing one of the same name of the run); nothing is stored when it is refused. */
  put(write: ArtifactWrite): Promise<ArtifactRecord>;
  /** The run's artifacts by name. */
  list(runId: string): Promise<ArtifactRecord[]>;
  /** One artifact and its bytes; undefined when the run has none of that name (or its file is gone). */
  read(runId: string, name: string): Promise<{ record: ArtifactRecord; content: Buffer } | undefined>;
  /** Removes what is kept outside the database for runs already deleted (their folders); the table backend has none. */
  forgetRuns(runIds: readonly string[]): Promise<void>;
}

/** How the backends reach the database: a write transaction and a read, each with the store's retries. */
export interface ArtifactDb {
  transact<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  read<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** `sql/artifacts.ts` `putArtifact` with the store's dialect. */
  putRow(trx: Db, artifact: NewArtifact, content: Uint8Array | null): Promise<ArtifactRecord>;
}

/** Where an SQLite store at `file` keeps its artifacts' files: `artifacts/` beside it. */
export function artifactsDirOf(file: string): string {
  return join(dirname(file), 'artifacts');
}

/** `<root>/<tenant>/<run>`; undefined when a tenant or run id would leave the root. */
function runFolderIn(root: string, tenantId: string, runId: string): string | undefined {
  const folder = resolve(root, tenantId, runId);
  return isInside(root, folder) && relative(root, folder).split(sep).length === 2 ? folder : undefined;
}

/**
 * The bytes of a directory backend's artifact (confined to the run's folder, a symbolic link
 * refused), as downloads and backups read them; undefined when the file is not there.
 */
export async function readArtifactFile(root: string, record: Pick<ArtifactRecord, 'tenantId' | 'runId' | 'name'>): Promise<Buffer | undefined> {
  const folder = runFolderIn(root, record.tenantId, record.runId);
  if (folder === undefined) return undefined;
  const file = join(folder, ...record.name.split('/'));
  try {
    if ((await lstat(file)).isSymbolicLink()) return undefined;
    await confined(root, folder, record.name);
    await confined(folder, dirname(file), record.name);
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The backend for a store: a directory when `directory` is given, else the table. */
export function createArtifactStore(db: ArtifactDb, directory: string | undefined, now: () => number = Date.now): ArtifactStore {
  return directory === undefined ? new TableArtifacts(db, now) : new DirectoryArtifacts(db, resolve(directory), now);
}

function prepared(write: ArtifactWrite, now: number) {
  const normalised = normalizeArtifactName(write.name);
  if ('problem' in normalised) {
    throw new AgentryError('artifact_denied', `artifact name '${write.name.slice(0, 120)}' ${normalised.problem}`, { details: { name: write.name } });
  }
  const content = Buffer.from(write.content.buffer, write.content.byteOffset, write.content.byteLength);
  return {
    record: {
      runId: write.runId,
      name: normalised.name,
      tenantId: write.tenantId,
      stepId: write.stepId,
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      contentType: write.contentType,
      createdAt: now,
      maxRunBytes: write.maxRunBytes,
    },
    content,
  };
}

class TableArtifacts implements ArtifactStore {
  readonly backend = 'table';
  constructor(
    private readonly db: ArtifactDb,
    private readonly now: () => number,
  ) {}

  async put(write: ArtifactWrite): Promise<ArtifactRecord> {
    const { record, content } = prepared(write, this.now());
    return this.db.transact((trx) => this.db.putRow(trx, record, content));
  }

  list(runId: string): Promise<ArtifactRecord[]> {
    return this.db.read((db) => sqlArtifacts.listArtifacts(db, runId));
  }

  async read(runId: string, name: string): Promise<{ record: ArtifactRecord; content: Buffer } | undefined> {
    const found = await this.db.read((db) => sqlArtifacts.readArtifact(db, runId, name));
    if (found === undefined || found.content === null) return undefined;
    return { record: found.record, content: Buffer.from(found.content) };
  }

  async forgetRuns(): Promise<void> {}
}

class DirectoryArtifacts implements ArtifactStore {
  readonly backend = 'directory';
  constructor(
    private readonly db: ArtifactDb,
    private readonly root: string,
    private readonly now: () => number,
  ) {}

  async put(write: ArtifactWrite): Promise<ArtifactRecord> {
    const { record, content } = prepared(write, this.now());
    const folder = this.runFolder(record.tenantId, record.runId);
    const target = await this.makeFolders(folder, record.name);
    const temporary = join(folder, `.incoming-${randomUUID()}`);
    await writeFile(temporary, content, { flag: 'wx', mode: 0o600 });
    try {
      const stored = await this.db.transact((trx) => this.db.putRow(trx, record, null));
      try {
        await rename(temporary, target);
      } catch (error) {
        await this.db.transact((trx) => sqlArtifacts.deleteArtifact(trx, record.runId, record.name));
        throw new AgentryError('internal', `artifact '${record.name}' could not be put in place`, { cause: error });
      }
      return stored;
    } finally {
      await rm(temporary, { force: true });
    }
  }

  list(runId: string): Promise<ArtifactRecord[]> {
    return this.db.read((db) => sqlArtifacts.listArtifacts(db, runId));
  }

  async read(runId: string, name: string): Promise<{ record: ArtifactRecord; content: Buffer } | undefined> {
    const found = await this.db.read((db) => sqlArtifacts.readArtifact(db, runId, name));
    if (found === undefined) return undefined;
    // A row restored from a backup holds its bytes.
    if (found.content !== null) return { record: found.record, content: Buffer.from(found.content) };
    const content = await readArtifactFile(this.root, found.record);
    return content === undefined ? undefined : { record: found.record, content };
  }

  async forgetRuns(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    let tenants: string[];
    try {
      tenants = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const tenant of tenants) {
      for (const runId of runIds) {
        const folder = join(this.root, tenant, runId);
        if (isInside(this.root, folder)) await rm(folder, { recursive: true, force: true });
      }
    }
  }

  /**
   * Creates the tenant's and run's folders and the folders of `name` in the run's, each a real
   * folder (a symbolic link or a file on the way is refused); the path the file goes to.
   */
  private async makeFolders(folder: string, name: string): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const segments = [...relative(this.root, folder).split(sep), ...name.split('/')];
    let at = this.root;
    for (const segment of segments.slice(0, -1)) {
      at = join(at, segment);
      // Another write of the run may create the same folder at the same time: EEXIST is fine, then it is checked.
      await mkdir(at, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      const stat = await lstat(at);
      if (!stat.isDirectory()) throw escaping(name, `'${relative(this.root, at)}' is ${stat.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}`);
    }
    const target = join(at, segments[segments.length - 1]!);
    const existing = await lstat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw escaping(name, 'a folder of that name exists');
    return target;
  }

  /** `<root>/<tenant>/<run>`; a tenant or run id that would leave the root is refused. */
  private runFolder(tenantId: string, runId: string): string {
    const folder = runFolderIn(this.root, tenantId, runId);
    if (folder === undefined) throw new AgentryError('artifact_denied', `no artifact folder for tenant '${tenantId}' and run '${runId}'`);
    return folder;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel);
}

/** Refuses `folder` when, symbolic links followed, it is not inside `base`. */
async function confined(base: string, folder: string, name: string): Promise<void> {
  const [realBase, real] = await Promise.all([realpath(base), realpath(folder)]);
  if (real !== realBase && !isInside(realBase, real)) throw escaping(name, 'a symbolic link on the way leads out of its folder');
}

function escaping(name: string, why: string): AgentryError {
  return new AgentryError('artifact_denied', `artifact '${name}' cannot be stored in its run's folder: ${why}`, { details: { name } });
}
