/**
 * The installed plugins as the spec loader checks specs against them: the lock's plugins, each
 * with the step kinds and tools its manifest adds. A plugin whose directory or manifest cannot
 * be read is in the catalog with its error (a spec using it is told why); a lock that does not
 * parse is a problem of `agentry-plugins.lock` itself.
 */
import { toAgentryError } from '../lib/errors.js';
import { loadManifest, type PluginManifest } from '../spec/plugin-manifest.js';
import type { PluginCatalog, PluginCatalogEntry } from '../spec/plugin-catalog.js';
import { LOCK_FILE, readLock } from './plugin-lock.js';
import { entryDir } from './plugins.js';

/** A manifest's step kinds and tools, as the catalog holds them. */
export function catalogEntry(manifest: PluginManifest): PluginCatalogEntry {
  return {
    steps: new Map((manifest.adds.steps ?? []).map((s) => [s.kind, s.config])),
    tools: new Map((manifest.adds.tools ?? []).map((t) => [t.name, t.input])),
  };
}

/** The catalog of the project's lock, or why the lock cannot be read. */
export function readPluginCatalog(projectDir: string): { catalog: PluginCatalog; problem?: { file: string; message: string } } {
  let lock;
  try {
    lock = readLock(projectDir);
  } catch (error) {
    return { catalog: new Map(), problem: { file: LOCK_FILE, message: toAgentryError(error).message } };
  }
  const catalog = new Map<string, PluginCatalogEntry>();
  for (const [name, entry] of Object.entries(lock.plugins)) {
    try {
      catalog.set(name, catalogEntry(loadManifest(entryDir(projectDir, entry)).manifest));
    } catch (error) {
      catalog.set(name, { error: toAgentryError(error).message, steps: new Map(), tools: new Map() });
    }
  }
  return { catalog };
}
