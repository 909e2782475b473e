/**
 * Plugins in the store: the fleet's plugin switches (a disabled plugin, read by every process
 * that runs plugins every few seconds, `app/plugin-service.ts`) and the plugins' key/value
 * storage, keyed by plugin and tenant so one tenant's values are never another's.
 */
import { sql } from 'kysely';
import type { PluginSwitchRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Row } from './values.js';

function fromRow(row: Row): PluginSwitchRecord {
  return { plugin: row.plugin as string, reason: row.reason as string, disabledAt: num(row.disabled_at), disabledBy: row.disabled_by as string };
}

export async function listPluginSwitches(db: Db): Promise<PluginSwitchRecord[]> {
  return (await rows(db, sql`SELECT plugin, reason, disabled_at, disabled_by FROM plugin_switches ORDER BY plugin`)).map(fromRow);
}

export async function disablePlugin(db: Db, s: PluginSwitchRecord): Promise<PluginSwitchRecord> {
  const [row] = await rows(
    db,
    sql`INSERT INTO plugin_switches (plugin, reason, disabled_at, disabled_by) VALUES (${s.plugin}, ${s.reason}, ${s.disabledAt}, ${s.disabledBy})
    ON CONFLICT (plugin) DO UPDATE SET reason = ${s.reason}
    RETURNING plugin, reason, disabled_at, disabled_by`,
  );
  return fromRow(row!);
}

export async function enablePlugin(db: Db, plugin: string): Promise<PluginSwitchRecord | null> {
  const [row] = await rows(db, sql`DELETE FROM plugin_switches WHERE plugin = ${plugin} RETURNING plugin, reason, disabled_at, disabled_by`);
  return row === undefined ? null : fromRow(row);
}

export async function getPluginValue(db: Db, plugin: string, tenantId: string, key: string): Promise<string | undefined> {
  const [row] = await rows(db, sql`SELECT value FROM plugin_kv WHERE plugin = ${plugin} AND tenant_id = ${tenantId} AND key = ${key}`);
  return row === undefined ? undefined : (row.value as string);
}

export async function setPluginValue(db: Db, plugin: string, tenantId: string, key: string, value: string, at: number): Promise<void> {
  await rows(
    db,
    sql`INSERT INTO plugin_kv (plugin, tenant_id, key, value, updated_at) VALUES (${plugin}, ${tenantId}, ${key}, ${value}, ${at})
    ON CONFLICT (plugin, tenant_id, key) DO UPDATE SET value = ${value}, updated_at = ${at}`,
  );
}

export async function deletePluginValue(db: Db, plugin: string, tenantId: string, key: string): Promise<void> {
  await rows(db, sql`DELETE FROM plugin_kv WHERE plugin = ${plugin} AND tenant_id = ${tenantId} AND key = ${key}`);
}
