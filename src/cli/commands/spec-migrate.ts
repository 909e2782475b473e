/**
 * `agentry spec migrate <file>`: rewrites a spec of an older `version:` (and the deprecated forms
 * the current version still accepts) to the current form, printing a unified diff. `--check`
 * writes nothing and exits 1 when there is something to migrate.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, basename } from 'node:path';
import { AgentryError } from '../../lib/errors.js';
import { unifiedDiff } from '../../lib/unified-diff.js';
import { migrateSpec } from '../../spec/index.js';
import { out, outJson, type CliContext } from '../context.js';

export interface MigrateOptions {
  output?: string;
  check?: boolean;
  json?: boolean;
}

function readSpec(path: string, shown: string): string {
  if (!existsSync(path)) throw new AgentryError('invalid_request', `spec file ${shown} does not exist`);
  if (!statSync(path).isFile()) throw new AgentryError('invalid_request', `${shown} is not a file`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new AgentryError('invalid_request', `cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  }
}

/** Written beside the target and renamed over it: a reader never sees half a spec. */
function writeAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, path);
}

export function specMigrate(ctx: CliContext, file: string, opts: MigrateOptions): void {
  const path = resolve(ctx.cwd, file);
  const shown = relative(ctx.cwd, path) || file;
  const text = readSpec(path, shown);
  const migration = migrateSpec(shown, text);
  const target = opts.check === true ? undefined : resolve(ctx.cwd, opts.output ?? file);
  if (target !== undefined && opts.output !== undefined && existsSync(target) && statSync(target).isDirectory()) {
    throw new AgentryError('invalid_request', `--output ${opts.output} is a directory; give a file name`);
  }
  const targetShown = target === undefined ? shown : relative(ctx.cwd, target) || target;
  const diff = unifiedDiff(text, migration.text, { from: shown, to: targetShown });
  // --output always writes (the migrated copy, even when nothing changed); in place only on a change.
  const written = target !== undefined && (opts.output !== undefined || migration.changes.length > 0);
  if (written) writeAtomic(target, migration.text);
  ctx.exitCode = opts.check === true && migration.changes.length > 0 ? 1 : 0;
  if (opts.json === true) {
    outJson(ctx, {
      file: shown,
      from: migration.from,
      to: migration.to,
      changes: migration.changes,
      diff,
      written: written ? targetShown : null,
    });
    return;
  }
  if (migration.changes.length === 0) {
    out(ctx, `${shown}: already ${migration.to}, nothing to migrate${written ? ` (copied to ${targetShown})` : ''}`);
    return;
  }
  ctx.stdout.write(diff);
  for (const change of migration.changes) out(ctx, `${shown}:${change.line} ${change.path}: ${change.message}`);
  const verb = opts.check === true ? 'would be migrated' : `migrated${written ? ` to ${targetShown}` : ''}`;
  out(ctx, `${shown}: ${migration.from} → ${migration.to}, ${migration.changes.length} change${migration.changes.length === 1 ? '' : 's'} ${verb}`);
}
