/**
 * The backup file format on its own: values that JSON cannot hold as they are (bytes, non-finite
 * numbers) come back as they were, rows come back in the batches asked for, encrypted or not,
 * and a file from another format version, or rows that do not follow the header, are refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { newEncryption } from '../../src/app/backup-crypto.js';
import { decodeValue, encodeValue, openBackup, writeBackup, type BackupHeader, type RowBatch } from '../../src/app/backup-file.js';
import { tempDir } from '../helpers/store.js';

const work = tempDir('agentry-backup-file-');
afterAll(() => work.remove());

function header(over: Partial<BackupHeader> = {}): BackupHeader {
  return {
    format: 'agentry-backup',
    format_version: 1,
    agentry_version: '0.0.0-test',
    schema_version: 1,
    created_at: '2026-01-02T03:04:05.000Z',
    source: { dialect: 'sqlite', location: 'sqlite:/test.db' },
    tables: [
      { name: 'parents', columns: ['id', 'blob'], rows: 3 },
      { name: 'empty', columns: ['id'], rows: 0 },
      { name: 'children', columns: ['id', 'parent', 'value'], rows: 2 },
    ],
    compression: 'gzip',
    encryption: null,
    checksum: 'sha256',
    ...over,
  };
}

function batches(list: RowBatch[]): AsyncIterable<RowBatch> {
  return Readable.from(list);
}

const ROWS: RowBatch[] = [
  { table: 'parents', rows: [['p1', Buffer.from([0, 1, 254, 255])]] },
  {
    table: 'parents',
    rows: [
      ['p2', null],
      ['p3 ✓ "quoted"\n', Buffer.alloc(0)],
    ],
  },
  {
    table: 'children',
    rows: [
      ['c1', 'p1', Number.NaN],
      ['c2', 'p2', -Infinity],
    ],
  },
];

async function readAll(file: string, passphrase?: string, size = 1000): Promise<RowBatch[]> {
  const backup = await openBackup(file, passphrase);
  const out: RowBatch[] = [];
  for await (const batch of backup.batches(() => size)) out.push(batch);
  return out;
}

describe('backup values', () => {
  it('keeps bytes, non-finite numbers, NULLs, numbers and strings through JSON', () => {
    for (const value of [null, 'text ✓', 0, -1.5, 2 ** 53 - 1, Buffer.from('bytes'), Number.NaN, Infinity, -Infinity]) {
      expect(decodeValue(JSON.parse(JSON.stringify(encodeValue(value))))).toEqual(value);
    }
    expect(encodeValue(12n)).toBe(12);
    expect(() => encodeValue(2n ** 60n)).toThrow(/too large/);
    for (const bad of [true, [1], { $base64: 1 }, { other: 'x' }]) expect(() => decodeValue(bad)).toThrow(/value Agentry does not write/);
  });
});

describe('backup files', () => {
  it('read back the rows written, in the batch size asked for, compressed or not', async () => {
    for (const compression of ['gzip', 'none'] as const) {
      const file = join(work.dir, `plain-${compression}.backup`);
      await writeBackup(file, header({ compression }), undefined, batches(ROWS));
      expect(await readAll(file)).toEqual([
        { table: 'parents', rows: [...ROWS[0]!.rows, ...ROWS[1]!.rows] },
        { table: 'children', rows: ROWS[2]!.rows },
      ]);
      expect((await readAll(file, undefined, 2)).map((b) => [b.table, b.rows.length])).toEqual([
        ['parents', 2],
        ['parents', 1],
        ['children', 2],
      ]);
    }
  });

  it('encrypt the body but not the header, and need the passphrase to read it', async () => {
    const { encryption, key } = await newEncryption('a passphrase long enough');
    const file = join(work.dir, 'sealed.backup');
    await writeBackup(file, header({ encryption }), key, batches(ROWS));
    const text = readFileSync(file);
    expect(JSON.parse(text.subarray(0, text.indexOf(10)).toString())).toMatchObject({ encryption: { cipher: 'aes-256-gcm', kdf: { name: 'scrypt' } } });
    expect(text.includes(Buffer.from('p3 ✓'))).toBe(false);
    expect((await readAll(file, 'a passphrase long enough')).flatMap((b) => b.rows)).toHaveLength(5);
    await expect(openBackup(file, undefined)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(openBackup(file, 'another passphrase, long')).rejects.toMatchObject({
      code: 'backup_invalid',
      message: expect.stringMatching(/wrong passphrase/),
    });
  });

  it('refuse a format version this build does not read, naming it and the version that wrote it', async () => {
    const file = join(work.dir, 'v2.backup');
    writeFileSync(file, `${JSON.stringify({ ...header(), format_version: 2, agentry_version: '9.0.0' })}\n`);
    await expect(openBackup(file, undefined)).rejects.toMatchObject({
      code: 'backup_invalid',
      message: expect.stringMatching(/format version 2 is not one this build reads \(1\); use the Agentry version that wrote it \(9\.0\.0\)/),
    });
    writeFileSync(file, 'SQLite format 3\u0000…');
    await expect(openBackup(file, undefined)).rejects.toMatchObject({ code: 'backup_invalid', message: expect.stringMatching(/not an Agentry backup/) });
  });

  it('are not written from rows that disagree with the header', async () => {
    // A table skipped while the header counts rows in it.
    await expect(writeBackup(join(work.dir, 'bad1.backup'), header(), undefined, batches([ROWS[2]!, ROWS[0]!]))).rejects.toThrow(
      /table parents: wrote 0 rows, the snapshot counted 3/,
    );
    // Back to a table already passed.
    const noParents = header({ tables: [{ name: 'parents', columns: ['id', 'blob'], rows: 0 }, header().tables[2]!] });
    await expect(writeBackup(join(work.dir, 'bad2.backup'), noParents, undefined, batches([ROWS[2]!, ROWS[0]!]))).rejects.toThrow(/out of the header's order/);
    // Fewer rows than counted.
    await expect(writeBackup(join(work.dir, 'bad3.backup'), header(), undefined, batches([ROWS[0]!, ROWS[2]!]))).rejects.toThrow(
      /table parents: wrote 1 rows, the snapshot counted 3/,
    );
  });
});
