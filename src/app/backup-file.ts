/**
 * The backup file format (`agentry-backup`, format version 1), the same whichever store it was
 * taken from, so a backup of one dialect restores into the other:
 *
 *   line 1   the header: one line of JSON, never compressed or encrypted (`BackupHeader`)
 *   rest     the body: the payload, gzip-compressed (`compression: "gzip"`), then encrypted
 *            with AES-256-GCM (`encryption` set; the 16-byte tag ends the file)
 *
 * The payload is JSON Lines: `{"table":"runs"}` starts a table (in the header's order, each a
 * table after those it references), then one JSON array per row, values in the order of the
 * header's `columns` for the table; last, `{"end":true,"sha256":"<hex>"}`, the SHA-256 of the
 * header line and every payload line before it (newlines included). A value is `null`, a
 * string, a number, `{"$base64":"…"}` (bytes) or `{"$float":"NaN"|"Infinity"|"-Infinity"}`.
 *
 * `readBackup` checks everything as it reads: header, passphrase, authentication tag, gzip
 * stream, every line, each row's width, each table's row count against the header, the
 * checksum, and that nothing follows the end line. Until its rows have all been read without an
 * error, nothing read is to be trusted.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline as pipe, Readable, type Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import type { StoreKind } from '../store/store.js';
import { pluginsLockProblem, type BackupPluginsLock } from './backup-plugins.js';
import { decryptStream, encryptionProblem, encryptStream, keyFor, type EncryptionHeader } from './backup-crypto.js';

export const BACKUP_FORMAT = 'agentry-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupTable {
  name: string;
  columns: string[];
  rows: number;
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  format_version: typeof BACKUP_FORMAT_VERSION;
  agentry_version: string;
  /** The store's last migration when the backup was taken. */
  schema_version: number;
  /** ISO 8601: when the snapshot was taken. */
  created_at: string;
  source: { dialect: StoreKind; location: string };
  tables: BackupTable[];
  compression: 'gzip' | 'none';
  encryption: EncryptionHeader | null;
  checksum: 'sha256';
  /** The project's `agentry-plugins.lock` when it had one (absent in older backups; `backup-plugins.ts`). */
  plugins_lock?: BackupPluginsLock;
}

/** A batch of rows of one table, as `writeBackup` takes them and `readBackup` gives them. */
export interface RowBatch {
  table: string;
  rows: unknown[][];
}

const MAX_HEADER_BYTES = 1024 * 1024;
/** A longer line is not something Agentry wrote (a step's output is limited far below this). */
const MAX_LINE_BYTES = 256 * 1024 * 1024;
const NAME = /^[a-z_][a-z0-9_]*$/;

function invalid(message: string, cause?: unknown): AgentryError {
  return new AgentryError('backup_invalid', message, cause === undefined ? {} : { cause });
}

/** A stored value as JSON: bytes and non-finite numbers get a tagged object. */
export function encodeValue(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'string') return value ?? null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $float: String(value) };
  if (typeof value === 'bigint') {
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
    throw new AgentryError('internal', `integer ${value} is too large to back up exactly`);
  }
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  throw new AgentryError('internal', `cannot back up a value of type ${typeof value}`);
}

export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const tagged = value as Record<string, unknown>;
    const keys = Object.keys(tagged);
    if (keys.length === 1 && typeof tagged.$base64 === 'string') return Buffer.from(tagged.$base64, 'base64');
    if (keys.length === 1 && ['NaN', 'Infinity', '-Infinity'].includes(tagged.$float as string)) return Number(tagged.$float);
  }
  throw invalid(`a row holds a value Agentry does not write: ${JSON.stringify(value).slice(0, 80)}`);
}

/** What is wrong with a header, or undefined. */
function headerProblem(h: Partial<BackupHeader>): string | undefined {
  if (h.format !== BACKUP_FORMAT) return 'it is not an Agentry backup (no agentry-backup header)';
  if (h.format_version !== BACKUP_FORMAT_VERSION) {
    return `its format version ${String(h.format_version)} is not one this build reads (${BACKUP_FORMAT_VERSION}); use the Agentry version that wrote it (${String(h.agentry_version)}) or newer`;
  }
  if (!Number.isSafeInteger(h.schema_version) || h.schema_version! < 1) return 'its schema version is missing';
  if (typeof h.created_at !== 'string' || Number.isNaN(Date.parse(h.created_at))) return 'its creation time is missing';
  if (h.source?.dialect !== 'sqlite' && h.source?.dialect !== 'postgres') return 'its source dialect is missing';
  if (h.compression !== 'gzip' && h.compression !== 'none') return `unknown compression ${JSON.stringify(h.compression)}`;
  if (h.checksum !== 'sha256') return `unknown checksum ${JSON.stringify(h.checksum)}`;
  if (h.encryption !== null) {
    const problem = encryptionProblem(h.encryption);
    if (problem !== undefined) return `its encryption header is invalid: ${problem}`;
  }
  const lockProblem = pluginsLockProblem(h.plugins_lock);
  if (lockProblem !== undefined) return lockProblem;
  if (!Array.isArray(h.tables)) return 'its table list is missing';
  const seen = new Set<string>();
  for (const t of h.tables as Array<Partial<BackupTable>>) {
    const wellFormed =
      typeof t.name === 'string' &&
      NAME.test(t.name) &&
      Array.isArray(t.columns) &&
      t.columns.length > 0 &&
      t.columns.every((c) => typeof c === 'string' && NAME.test(c)) &&
      Number.isSafeInteger(t.rows) &&
      t.rows! >= 0;
    if (!wellFormed || seen.has(t.name!)) return `its table list is invalid at ${JSON.stringify(t.name ?? t)}`;
    seen.add(t.name!);
  }
  return undefined;
}

function headerLineOf(header: BackupHeader): Buffer {
  return Buffer.from(`${JSON.stringify(header)}\n`);
}

/**
 * Writes a backup to `path` (replacing what is there): the header, then `batches` as the payload,
 * compressed and encrypted as the header says (`key` with `header.encryption`). The batches
 * must follow the header's table order and add up to its row counts. Returns the bytes written.
 */
export async function writeBackup(path: string, header: BackupHeader, key: Buffer | undefined, batches: AsyncIterable<RowBatch>): Promise<number> {
  const headerLine = headerLineOf(header);
  const hash = createHash('sha256').update(headerLine);
  async function* payload(): AsyncGenerator<Buffer> {
    const tables = header.tables;
    let index = -1;
    let written = 0;
    /** Tables from `index` up to `next` are done: the current one wrote all its rows, those between have none. */
    const moveTo = (next: number) => {
      for (let i = Math.max(index, 0); i < next; i++) {
        const table = tables[i]!;
        const rows = i === index ? written : 0;
        if (rows !== table.rows) throw new AgentryError('internal', `table ${table.name}: wrote ${rows} rows, the snapshot counted ${table.rows}`);
      }
      index = next;
      written = 0;
    };
    const line = (text: string): Buffer => {
      const bytes = Buffer.from(`${text}\n`);
      hash.update(bytes);
      return bytes;
    };
    for await (const batch of batches) {
      if (batch.rows.length === 0) continue;
      if (tables[index]?.name !== batch.table) {
        const next = tables.findIndex((t, i) => i > index && t.name === batch.table);
        if (next < 0) throw new AgentryError('internal', `rows of table ${batch.table} out of the header's order`);
        moveTo(next);
        yield line(JSON.stringify({ table: batch.table }));
      }
      written += batch.rows.length;
      yield line(batch.rows.map((row) => JSON.stringify(row.map(encodeValue))).join('\n'));
    }
    moveTo(tables.length);
    yield Buffer.from(`${JSON.stringify({ end: true, sha256: hash.digest('hex') })}\n`);
  }
  const out = createWriteStream(path, { flush: true });
  out.write(headerLine);
  const stages: Array<Transform | Writable> = [];
  if (header.compression === 'gzip') stages.push(createGzip());
  if (header.encryption) {
    if (!key) throw new AgentryError('internal', 'an encrypted backup needs its key');
    stages.push(encryptStream(key, header.encryption, headerLine));
  }
  try {
    await pipeline(Readable.from(payload()), ...(stages as [Transform]), out);
  } finally {
    // A failed pipeline destroys the file stream, whose open may still be under way: wait until
    // its file is closed, so that the caller's clean-up finds (and removes) the partial file.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
  }
  return out.bytesWritten;
}

/** The header of the backup at `path`, and its exact bytes (the first line). */
export async function readHeader(path: string): Promise<{ header: BackupHeader; headerLine: Buffer; size: number }> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AgentryError(code === 'ENOENT' ? 'not_found' : 'invalid_request', `cannot read backup ${path}: ${code ?? (error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(10);
    if (end < 0) throw invalid(`${path} is not an Agentry backup (no header line)`);
    const headerLine = Buffer.from(buffer.subarray(0, end + 1));
    let parsed: Partial<BackupHeader>;
    try {
      parsed = JSON.parse(headerLine.toString('utf8')) as Partial<BackupHeader>;
    } catch (error) {
      throw invalid(`${path} is not an Agentry backup (its first line is not JSON)`, error);
    }
    if (typeof parsed !== 'object' || parsed === null) throw invalid(`${path} is not an Agentry backup`);
    const problem = headerProblem(parsed);
    if (problem !== undefined) throw invalid(`${path}: ${problem}`);
    return { header: parsed as BackupHeader, headerLine, size };
  } finally {
    await handle.close();
  }
}

/** Splits a byte stream into lines, each with its newline; a last line without one is a truncated file. */
async function* lines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl + 1);
      start = nl + 1;
      if (pending.length === 0) {
        yield piece;
        continue;
      }
      pending.push(piece);
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw invalid('the backup holds a line longer than Agentry writes: it is damaged');
    }
  }
  if (pendingBytes > 0) throw invalid('the backup is truncated: its last line is cut off');
}

export interface OpenedBackup {
  header: BackupHeader;
  /** Size of the file in bytes. */
  size: number;
  /**
   * The rows, table by table in batches of at most `batchSize(table)` rows, each checked as it
   * is read; the generator throws `backup_invalid` at the first problem, at the latest after the
   * last batch (checksum, row counts, end line).
   */
  batches(batchSize?: (table: BackupTable) => number): AsyncGenerator<RowBatch>;
}

/**
 * Opens the backup at `path`. An encrypted one needs `passphrase` (`invalid_request` without
 * it, `backup_invalid` when it is wrong).
 */
export async function openBackup(path: string, passphrase: string | undefined): Promise<OpenedBackup> {
  const { header, headerLine, size } = await readHeader(path);
  let key: Buffer | undefined;
  if (header.encryption) {
    if (passphrase === undefined) {
      throw new AgentryError('invalid_request', `${path} is encrypted: give its passphrase with --passphrase-file or AGENTRY_BACKUP_PASSPHRASE(_FILE)`);
    }
    key = await keyFor(passphrase, header.encryption);
  }
  return { header, size, batches: (batchSize) => readRows(path, header, headerLine, key, batchSize ?? (() => 1000)) };
}

async function* readRows(
  path: string,
  header: BackupHeader,
  headerLine: Buffer,
  key: Buffer | undefined,
  batchSize: (table: BackupTable) => number,
): AsyncGenerator<RowBatch> {
  const stages: Transform[] = [];
  if (header.encryption && key) stages.push(decryptStream(key, header.encryption, headerLine));
  if (header.compression === 'gzip') stages.push(createGunzip());
  const source = createReadStream(path, { start: headerLine.length });
  // An error in any stage (a failed tag, a broken gzip stream) ends the last one with that error.
  const body = (stages.length === 0 ? source : pipe([source, ...stages], () => undefined)) as AsyncIterable<Buffer>;
  const hash = createHash('sha256').update(headerLine);
  let table: BackupTable | undefined;
  let tableIndex = -1;
  let count = 0;
  let rows: unknown[][] = [];
  let ended = false;
  const closeTable = () => {
    if (table && count !== table.rows) throw invalid(`table ${table.name} has ${count} rows in the backup, its header says ${table.rows}: the file is damaged`);
  };
  try {
    for await (const line of lines(body)) {
      if (ended) throw invalid('the backup has data after its end line: it is damaged');
      let value: unknown;
      try {
        value = JSON.parse(line.toString('utf8'));
      } catch (error) {
        throw invalid(`a line of the backup is not JSON${table ? ` (table ${table.name}, row ${count + 1})` : ''}: the file is damaged`, error);
      }
      if (Array.isArray(value)) {
        hash.update(line);
        if (!table) throw invalid('the backup has a row before its first table: it is damaged');
        if (value.length !== table.columns.length)
          throw invalid(`row ${count + 1} of table ${table.name} has ${value.length} values for ${table.columns.length} columns`);
        rows.push(value.map(decodeValue));
        count += 1;
        if (rows.length >= batchSize(table)) {
          yield { table: table.name, rows };
          rows = [];
        }
        continue;
      }
      const marker = (value ?? {}) as { table?: unknown; end?: unknown; sha256?: unknown };
      if (typeof marker.table === 'string') {
        hash.update(line);
        if (table && rows.length > 0) yield { table: table.name, rows };
        rows = [];
        closeTable();
        const next = header.tables.findIndex((t, i) => i > tableIndex && t.name === marker.table);
        if (next < 0) throw invalid(`the backup holds table ${marker.table}, which its header does not list in that place`);
        for (const missed of header.tables.slice(tableIndex + 1, next)) {
          if (missed.rows > 0) throw invalid(`the rows of table ${missed.name} are missing from the backup`);
        }
        tableIndex = next;
        table = header.tables[next];
        count = 0;
        continue;
      }
      if (marker.end === true) {
        if (table && rows.length > 0) yield { table: table.name, rows };
        rows = [];
        closeTable();
        for (const missed of header.tables.slice(tableIndex + 1))
          if (missed.rows > 0) throw invalid(`the rows of table ${missed.name} are missing from the backup`);
        if (marker.sha256 !== hash.digest('hex')) throw invalid('the backup fails its SHA-256 checksum: it was changed after it was written');
        ended = true;
        continue;
      }
      throw invalid('the backup holds a line Agentry does not write: it is damaged');
    }
  } catch (error) {
    if (error instanceof AgentryError) throw error;
    // A gzip stream cut short or changed, a read error: the file cannot be read back.
    throw invalid(`the backup is damaged or was changed after it was written (${toAgentryError(error).message})`, error);
  } finally {
    source.destroy();
  }
  if (!ended) throw invalid('the backup is truncated: its end line is missing');
}
