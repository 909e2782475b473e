/**
 * Environment policies set over the API: one row per environment whose policy replaces the
 * one `agentry.yaml` declares (`app/policy-service.ts`). The table stays small (one row per
 * environment); each API process reads it whole, at most every few seconds.
 */
import { sql } from 'kysely';
import type { PolicyOverrideRecord } from '../store-types.js';
import type { Db } from './dialect.js';
import { num, rows, type Row } from './values.js';

function fromRow(row: Row): PolicyOverrideRecord {
  return {
    environment: row.environment as string,
    policy: JSON.parse(row.policy as string) as Record<string, unknown>,
    updatedAt: num(row.updated_at),
    updatedBy: row.updated_by as string,
  };
}

/** Every override, by environment name. */
export async function listPolicyOverrides(db: Db): Promise<PolicyOverrideRecord[]> {
  return (await rows(db, sql`SELECT environment, policy, updated_at, updated_by FROM environment_policies ORDER BY environment`)).map(fromRow);
}

/** Stores an environment's policy, replacing an earlier one. */
export async function putPolicyOverride(db: Db, r: PolicyOverrideRecord): Promise<PolicyOverrideRecord> {
  const policy = JSON.stringify(r.policy);
  const [row] = await rows(
    db,
    sql`INSERT INTO environment_policies (environment, policy, updated_at, updated_by) VALUES (${r.environment}, ${policy}, ${r.updatedAt}, ${r.updatedBy})
    ON CONFLICT (environment) DO UPDATE SET policy = ${policy}, updated_at = ${r.updatedAt}, updated_by = ${r.updatedBy}
    RETURNING environment, policy, updated_at, updated_by`,
  );
  return fromRow(row!);
}

/** Removes an environment's override; returns it (null: there was none). */
export async function deletePolicyOverride(db: Db, environment: string): Promise<PolicyOverrideRecord | null> {
  const [row] = await rows(db, sql`DELETE FROM environment_policies WHERE environment = ${environment} RETURNING environment, policy, updated_at, updated_by`);
  return row === undefined ? null : fromRow(row);
}
