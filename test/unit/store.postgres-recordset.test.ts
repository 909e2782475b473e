/**
 * A multi-row INSERT made by `insertRowsQuery` keeps its parts beside the statement, and
 * PostgreSQL's dialect writes it as one recordset text for any row count
 * (`src/store/postgres-recordset.ts`); what JSON cannot carry as a literal would stays a `VALUES` list.
 * The rows' round trip through a real PostgreSQL is in `store.postgres-prepared.test.ts`.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { recordsetInsert } from '../../src/store/postgres-recordset.js';
import { insertRowsOf, insertRowsQuery } from '../../src/store/sql/values.js';

// Compiles only: no connection is made.
const postgres = new Kysely({ dialect: new PostgresDialect({ pool: {} as never }) });
const columns = ['run_id', 'seq', 'data'];

describe('insertRowsQuery and recordsetInsert', () => {
  it('writes a VALUES list and keeps the parts it was made of; other statements have none', () => {
    const rows = [
      ['r1', 1, '{}'],
      ['r2', 2, null],
    ];
    const query = insertRowsQuery({ table: 'events', columns, rows });
    const { sql: text, parameters } = query.compile(postgres);
    expect(text).toBe('INSERT INTO events (run_id, seq, data) VALUES ($1, $2, $3), ($4, $5, $6)');
    expect(parameters).toEqual(['r1', 1, '{}', 'r2', 2, null]);
    expect(insertRowsOf(query)).toEqual({ table: 'events', columns, rows });
    expect(insertRowsOf(sql`INSERT INTO events (run_id) VALUES (${'r'})`)).toBeUndefined();
  });

  it('is one text for any row count, its rows one JSON array of objects by column', () => {
    const two = recordsetInsert({
      table: 'events',
      columns,
      rows: [
        ['a', 1, 'x'],
        ['b', 2, undefined],
      ],
    });
    const three = recordsetInsert({
      table: 'events',
      columns,
      rows: [
        ['a', 1, 'x'],
        ['b', 2, 'y'],
        ['c', 3, true],
      ],
    });
    expect(two?.text).toBe('INSERT INTO events (run_id, seq, data) SELECT run_id, seq, data FROM json_populate_recordset(NULL::events, $1)');
    expect(three?.text).toBe(two?.text);
    expect(JSON.parse(two!.values[0])).toEqual([
      { run_id: 'a', seq: 1, data: 'x' },
      { run_id: 'b', seq: 2, data: null },
    ]);
  });

  it('leaves one row, and rows with a value JSON would not carry as a literal, as VALUES', () => {
    expect(recordsetInsert({ table: 'events', columns, rows: [['a', 1, 'x']] })).toBeUndefined();
    for (const odd of ['nul\0', 'half \ud800 pair', 'half \udc00 pair', Number.NaN, Infinity, 10n, Buffer.from('x'), ['array']]) {
      expect(
        recordsetInsert({
          table: 'events',
          columns,
          rows: [
            ['a', 1, 'x'],
            ['b', 2, odd],
          ],
        }),
        String(odd),
      ).toBeUndefined();
    }
    expect(
      recordsetInsert({
        table: 'events',
        columns,
        rows: [
          ['a', 1, 'a whole pair 😀'],
          ['b', 2, 'x'],
        ],
      }),
    ).toBeDefined();
  });
});
