/**
 * `agentry-plugins.lock`, the source of truth of a project's plugins: for each, the npm package,
 * its exact version, where it came from and its integrity hash (or the linked directory), the
 * permissions the operator accepted, its isolation mode and whether it is disabled. Written
 * atomically (a temporary file renamed over it); a file that does not parse or fails its schema
 * is `plugin_invalid` naming the file. A missing lock means no plugins.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { AgentryError } from '../lib/errors.js';
import { formatPath } from '../spec/diagnostics.js';
import { PluginManifestSchema } from '../spec/plugin-manifest.js';
import { newSpecAjv, pointerToPath } from '../spec/validate.js';

export const LOCK_FILE = 'agentry-plugins.lock';
const LOCK_VERSION = 1;

const LockEntrySchema = Type.Object(
  {
    package: Type.String({ minLength: 1 }),
    version: Type.String({ minLength: 1 }),
    source: Type.Union([Type.Literal('registry'), Type.Literal('link')]),
    resolved: Type.Optional(Type.String()),
    integrity: Type.Optional(Type.String({ pattern: '^sha512-' })),
    registry: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    mode: Type.Union([Type.Literal('in-process'), Type.Literal('process')]),
    permissions: PluginManifestSchema.properties.permissions,
    accepted_at: Type.String(),
  },
  { additionalProperties: false },
);

const LockSchema = Type.Object(
  {
    lockfileVersion: Type.Literal(LOCK_VERSION),
    plugins: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]*$' }), LockEntrySchema),
  },
  { additionalProperties: false },
);

export type LockEntry = Static<typeof LockEntrySchema>;
export type PluginLock = Static<typeof LockSchema>;

let validator: ReturnType<ReturnType<typeof newSpecAjv>['compile']> | undefined;

export function lockPath(projectDir: string): string {
  return path.join(projectDir, LOCK_FILE);
}

function corrupt(file: string, why: string, cause?: unknown): AgentryError {
  return new AgentryError('plugin_invalid', `lock file corrupt at ${file}: ${why}; restore it from a backup or re-link the plugins`, {
    details: { file },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The project's lock (empty when there is none). */
export function readLock(projectDir: string): PluginLock {
  const file = lockPath(projectDir);
  if (!existsSync(file)) return { lockfileVersion: LOCK_VERSION, plugins: {} };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw corrupt(file, (error as Error).message, error);
  }
  validator ??= newSpecAjv().compile(LockSchema);
  if (!validator(data)) {
    const first = validator.errors?.[0];
    const field = first === undefined ? '' : formatPath(pointerToPath(first.instancePath, data));
    throw corrupt(file, `${field === '' ? '' : `${field} `}${first?.message ?? 'is invalid'}`);
  }
  return data as PluginLock;
}

/** Writes the lock (atomically), plugins sorted by name so the file diffs well. */
export function writeLock(projectDir: string, lock: PluginLock): void {
  const file = lockPath(projectDir);
  const plugins: Record<string, LockEntry> = {};
  for (const name of Object.keys(lock.plugins).sort()) plugins[name] = lock.plugins[name]!;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ lockfileVersion: LOCK_VERSION, plugins }, null, 2)}\n`);
  renameSync(tmp, file);
}
