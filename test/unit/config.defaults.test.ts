/**
 * Configuration repeats a few of the store's values (`app/config-values.ts`, `app/config-options-engine.ts`)
 * instead of importing the store, so that a command that only reads its configuration starts
 * without loading kysely, pg and better-sqlite3. Here: the copies agree with the originals.
 */
import { describe, expect, it } from 'vitest';
import { POSTGRES_DEFAULTS as CONFIG_POSTGRES_DEFAULTS } from '../../src/app/config-options-engine.js';
import { databaseLocation } from '../../src/app/config-values.js';
import { parseDatabaseUrl } from '../../src/store/open.js';
import { POSTGRES_DEFAULTS } from '../../src/store/postgres.js';

describe('configuration defaults taken from the store', () => {
  it('has the PostgreSQL defaults of store/postgres.ts', () => {
    for (const [key, value] of Object.entries(CONFIG_POSTGRES_DEFAULTS)) expect(POSTGRES_DEFAULTS[key as keyof typeof POSTGRES_DEFAULTS], key).toBe(value);
  });

  it.each([
    'sqlite:.agentry/agentry.db',
    'sqlite:/var/lib/agentry.db',
    'sqlite:///var/lib/agentry.db',
    'sqlite::memory:',
    'sqlite:',
    'postgres://user:pw@db:5432/agentry',
    'postgresql://db/agentry',
    'postgres:///agentry',
    'mysql://db/agentry',
    'agentry.db',
  ])('reads %s as store/open.ts parseDatabaseUrl does', (url) => {
    const outcome = (parse: () => unknown) => {
      try {
        return { value: parse() };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    expect(outcome(() => databaseLocation(url, '/srv/project'))).toEqual(outcome(() => parseDatabaseUrl(url, '/srv/project')));
  });
});
