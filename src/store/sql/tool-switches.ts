/**
 * The fleet's tool switches: one row per disabled tool server (`tool = ''`) or disabled tool of
 * a server. Every process that calls tools reads the whole (small) table every few seconds
 * (`app/tool-switches.ts`) and applies it to its `ToolHub`, so a disable reaches every worker
 * without a restart and survives one.
 */
import { sql } from 'kysely';
import type { ToolSwitchRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Row } from './values.js';

function fromRow(row: Row): ToolSwitchRecord {
  const tool = row.tool as string;
  return {
    server: row.server as string,
    tool: tool === '' ? null : tool,
    reason: row.reason as string,
    disabledAt: num(row.disabled_at),
    disabledBy: row.disabled_by as string,
  };
}

/** Every switch in force, by server then tool (a whole server first). */
export async function listToolSwitches(db: Db): Promise<ToolSwitchRecord[]> {
  return (await rows(db, sql`SELECT server, tool, reason, disabled_at, disabled_by FROM tool_switches ORDER BY server, tool`)).map(fromRow);
}

/** Disables a server or one of its tools (disabled already: the reason changes, not since when or by whom); returns what is in force. */
export async function disableTool(db: Db, s: ToolSwitchRecord): Promise<ToolSwitchRecord> {
  const [row] = await rows(
    db,
    sql`INSERT INTO tool_switches (server, tool, reason, disabled_at, disabled_by) VALUES (${s.server}, ${s.tool ?? ''}, ${s.reason}, ${s.disabledAt}, ${s.disabledBy})
    ON CONFLICT (server, tool) DO UPDATE SET reason = ${s.reason}
    RETURNING server, tool, reason, disabled_at, disabled_by`,
  );
  return fromRow(row!);
}

/** Enables a server or tool; returns the switch that was in force (null: it was enabled). */
export async function enableTool(db: Db, server: string, tool: string | null): Promise<ToolSwitchRecord | null> {
  const [row] = await rows(
    db,
    sql`DELETE FROM tool_switches WHERE server = ${server} AND tool = ${tool ?? ''} RETURNING server, tool, reason, disabled_at, disabled_by`,
  );
  return row === undefined ? null : fromRow(row);
}
