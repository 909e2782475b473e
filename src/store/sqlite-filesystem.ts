/**
 * SQLite on a network filesystem corrupts or locks up: its file locks and WAL shared memory
 * rely on one kernel seeing every reader and writer, which NFS, SMB and 9p do not give
 * (https://www.sqlite.org/useovernet.html). Such a location is refused before the file is
 * opened; a FUSE mount (sshfs, but also local ones) only gets a warning, since whether it is
 * remote cannot be told from its type. Linux only: elsewhere `statfs` types mean other things.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { AgentryError } from '../lib/errors.js';

/** `statfs(2)` `f_type` magic numbers (linux/magic.h) of filesystems that share a file between hosts. */
const NETWORK_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0x517b, 'SMB'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x01021997, '9p'],
  [0x00c36400, 'CephFS'],
  [0x5346414f, 'AFS'],
]);
const FUSE = 0x65735546;

/** What to do with a database on a filesystem of this type: refuse it, warn about it, or go ahead. */
export type FilesystemVerdict = { action: 'refuse'; filesystem: string } | { action: 'warn'; filesystem: string } | { action: 'ok' };

export function judgeFilesystem(type: number): FilesystemVerdict {
  const network = NETWORK_FILESYSTEMS.get(type);
  if (network !== undefined) return { action: 'refuse', filesystem: network };
  if (type === FUSE) return { action: 'warn', filesystem: 'FUSE' };
  return { action: 'ok' };
}

/** The filesystem type of `path`, or of its nearest existing ancestor (the database and its folder may not exist yet). */
function filesystemTypeOf(path: string): number | undefined {
  for (let at = path; ; at = dirname(at)) {
    try {
      return statfsSync(at).type;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) return undefined;
    }
  }
}

/**
 * Throws `store_unsupported` when the SQLite database `file` (or, before it exists, the
 * folder it will be in) is on a network filesystem; returns a warning to log for a FUSE mount.
 * Does nothing off Linux or when the location cannot be examined (opening it will say why).
 */
export function checkSqliteFilesystem(file: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== 'linux' || file === ':memory:') return undefined;
  const type = filesystemTypeOf(file);
  if (type === undefined) return undefined;
  const verdict = judgeFilesystem(type);
  if (verdict.action === 'refuse') {
    throw new AgentryError(
      'store_unsupported',
      `sqlite:${file} is on a network filesystem (${verdict.filesystem}); SQLite's locking is not safe there. ` +
        'Keep the database on a local disk, or use PostgreSQL (docs/operations/scaling.md)',
    );
  }
  if (verdict.action === 'warn') {
    return `sqlite:${file} is on a FUSE filesystem; if it is a network mount (sshfs, a cloud bucket), SQLite's locking is not safe there: keep the database on a local disk or use PostgreSQL`;
  }
  return undefined;
}
