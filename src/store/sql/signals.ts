/** Signals sent to a run: at most one of each name, kept once received. */
import { sql } from 'kysely';
import type { SignalRecord } from '../../types.js';
import type { Db } from './dialect.js';
import { fromJson, num, rows, type Row } from './values.js';

function signalFromRow(r: Row): SignalRecord {
  return { runId: r.run_id as string, name: r.name as string, payload: fromJson(r.payload), receivedAt: num(r.received_at) };
}

export async function getSignal(db: Db, runId: string, name: string): Promise<SignalRecord | undefined> {
  const [row] = await rows(db, sql`SELECT * FROM signals WHERE run_id = ${runId} AND name = ${name}`);
  return row ? signalFromRow(row) : undefined;
}

/** Records a signal; when one of that name was already received, returns it and records nothing. */
export async function insertSignal(db: Db, runId: string, name: string, payload: unknown, now: number): Promise<SignalRecord | undefined> {
  const existing = await getSignal(db, runId, name);
  if (existing) return existing;
  await sql`INSERT INTO signals (run_id, name, payload, received_at)
    VALUES (${runId}, ${name}, ${JSON.stringify(payload ?? null)}, ${now})`.execute(db);
  return undefined;
}

export async function listSignals(db: Db, runId: string): Promise<SignalRecord[]> {
  return (await rows(db, sql`SELECT * FROM signals WHERE run_id = ${runId} ORDER BY received_at, name`)).map(signalFromRow);
}
