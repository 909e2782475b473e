/** How the SQL store reports a failed transaction and a taken API key name (`sql-store.ts`). */
import { AgentryError } from '../lib/errors.js';
import type { ApiKeyRecord } from '../types.js';
import * as apiKeys from './sql/api-keys.js';
import type { TransactionOutcome } from './store-types.js';
import { isConstraintViolation } from './transient.js';

/**
 * How a transaction that threw ended: rolled back by its caller (an Agentry error of the
 * transition, a constraint the schema enforces), or failed in the database.
 */
export function transactionFailure(error: unknown): TransactionOutcome {
  if (error instanceof AgentryError) return error.code === 'store_unavailable' ? 'failed' : 'rolled_back';
  return isConstraintViolation(error) ? 'rolled_back' : 'failed';
}

/** Turns the unique violation of a current key's (tenant, name) into `conflict`; rethrows anything else. */
export function nameTaken(record: ApiKeyRecord): (error: unknown) => never {
  return (error) => {
    if (!apiKeys.isApiKeyNameTaken(error)) throw error;
    throw new AgentryError('conflict', `tenant ${record.tenantId} already has a key named '${record.name}'; rotate or revoke it first`, {
      cause: error,
    });
  };
}
