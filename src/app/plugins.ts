/**
 * A project's plugins, as `agentry plugins` manages them: inspect a package before install,
 * install an exact version from the npm registry into `.agentry/plugins/node_modules/`, record
 * it in `agentry-plugins.lock` with the permissions the operator accepted, list, update (old →
 * new, changelog, confirmation), uninstall, link a directory for development, disable and
 * enable, and bring back every plugin of a restored lock (reinstalled from `resolved`, checked
 * against `integrity`). The lock changes only after everything else succeeded.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { AgentryError } from '../lib/errors.js';
import { loadManifest, type LoadedManifest, type PluginManifest, type PluginMode } from '../spec/plugin-manifest.js';
import { readLock, writeLock, lockPath, type LockEntry } from './plugin-lock.js';
import { fetchAndUnpack, fetchPackument, parsePackageSpec, pickVersion, pingRegistry } from './plugin-registry.js';

/** Asked before a plugin's permissions are accepted; false refuses the install. */
export type ConfirmPermissions = (manifest: PluginManifest, question: string) => Promise<boolean>;

export interface PluginsOptions {
  projectDir: string;
  registry: string;
}

export interface PluginListing {
  name: string;
  package: string;
  version: string;
  source: 'registry' | 'link';
  mode: PluginMode;
  /** `ok`, or why the plugin cannot load (missing directory, invalid manifest). */
  state: string;
  path: string;
}

export function pluginsRoot(projectDir: string): string {
  return path.join(projectDir, '.agentry', 'plugins');
}

/** Where an installed (not linked) package lives. */
export function installDir(projectDir: string, pkg: string): string {
  return path.join(pluginsRoot(projectDir), 'node_modules', ...pkg.split('/'));
}

/** The directory a lock entry's plugin is in. */
export function entryDir(projectDir: string, entry: LockEntry): string {
  return entry.source === 'link' ? path.resolve(projectDir, entry.path ?? '.') : installDir(projectDir, entry.package);
}

/** Refuses a manifest without an explicit mode where that matters (production), else defaults to `in-process`. */
export function modeOf(manifest: PluginManifest, production: boolean): PluginMode {
  if (manifest.mode !== undefined) return manifest.mode;
  if (production) {
    throw new AgentryError(
      'unsafe_configuration',
      `plugin ${manifest.name} declares no isolation mode: production mode needs "mode": "in-process" or "process" in its manifest`,
    );
  }
  return 'in-process';
}

/** The permission summary shown before install and by `inspect`. */
export function describePermissions(manifest: PluginManifest): string[] {
  const p = manifest.permissions;
  const lines = [
    `network hosts: ${p.network?.hosts.join(', ') || 'none'}`,
    `fs read: ${p.fs?.read?.join(', ') || 'none'}`,
    `fs write: ${p.fs?.write?.join(', ') || 'none'}`,
    `env vars: ${p.env?.join(', ') || 'none'}`,
    `child processes: ${p.childProcess === true ? 'yes' : 'no'}`,
    `isolation mode: ${manifest.mode ?? '(not set: in-process; refused in production)'}`,
  ];
  return lines;
}

export class PluginManager {
  constructor(private readonly options: PluginsOptions) {}

  private staging(): string {
    const root = pluginsRoot(this.options.projectDir);
    mkdirSync(root, { recursive: true });
    return mkdtempSync(path.join(root, '.staging-'));
  }

  /** Fetches `spec` into a staging directory and reads its manifest; the caller removes `stage`. */
  private async fetchPackage(spec: string): Promise<{ loaded: LoadedManifest; stage: string; resolved: string; integrity: string }> {
    const { name, version } = parsePackageSpec(spec);
    const packument = await fetchPackument(this.options.registry, name);
    const picked = pickVersion(packument, version);
    const stage = this.staging();
    try {
      const dir = path.join(stage, 'package');
      await fetchAndUnpack(picked.tarball, picked.integrity, dir);
      const loaded = loadManifest(dir);
      if (loaded.manifest.version !== picked.version) {
        throw new AgentryError('plugin_invalid', `${loaded.file} version: is ${loaded.manifest.version} but the registry published it as ${picked.version}`);
      }
      return { loaded, stage, resolved: picked.tarball, integrity: picked.integrity };
    } catch (error) {
      rmSync(stage, { recursive: true, force: true });
      throw error;
    }
  }

  /** The manifest of `pkg@version` from the registry, without installing it. */
  async inspect(spec: string): Promise<{ manifest: PluginManifest; package: string; resolved: string; integrity: string }> {
    const { loaded, stage, resolved, integrity } = await this.fetchPackage(spec);
    rmSync(stage, { recursive: true, force: true });
    return { manifest: loaded.manifest, package: loaded.packageName ?? parsePackageSpec(spec).name, resolved, integrity };
  }

  list(): PluginListing[] {
    const lock = readLock(this.options.projectDir);
    return Object.entries(lock.plugins).map(([name, entry]) => {
      const dir = entryDir(this.options.projectDir, entry);
      let state = 'ok';
      if (!existsSync(dir)) state = entry.source === 'link' ? `missing: ${dir}` : 'not installed (run `agentry plugins install` to restore it from the lock)';
      else {
        try {
          loadManifest(dir);
        } catch (error) {
          state = `invalid: ${(error as Error).message}`;
        }
      }
      return { name, package: entry.package, version: entry.version, source: entry.source, mode: entry.mode, state, path: dir };
    });
  }

  /** Installs `spec` (exact version) after `confirm` accepted its permissions; returns the lock entry. */
  async install(spec: string, confirm: ConfirmPermissions, production = false): Promise<{ name: string; entry: LockEntry; previous: LockEntry | undefined }> {
    const lock = readLock(this.options.projectDir);
    const fetched = await this.fetchPackage(spec);
    try {
      const { manifest } = fetched.loaded;
      const pkg = fetched.loaded.packageName ?? parsePackageSpec(spec).name;
      const previous = lock.plugins[manifest.name];
      if (previous !== undefined && previous.package !== pkg) {
        throw new AgentryError('conflict', `a plugin named ${manifest.name} is already installed from ${previous.package}; uninstall it first`);
      }
      const mode = modeOf(manifest, production);
      if (!(await confirm(manifest, `Install ${pkg}@${manifest.version} (plugin ${manifest.name}) with these permissions?`))) {
        throw new AgentryError(
          'invalid_request',
          `the permissions of ${pkg}@${manifest.version} were not accepted: nothing installed (pass --accept-permissions to accept them)`,
        );
      }
      const dest = installDir(this.options.projectDir, pkg);
      mkdirSync(path.dirname(dest), { recursive: true });
      rmSync(dest, { recursive: true, force: true });
      renameSync(fetched.loaded.dir, dest);
      const entry: LockEntry = {
        package: pkg,
        version: manifest.version,
        source: 'registry',
        resolved: fetched.resolved,
        integrity: fetched.integrity,
        registry: this.options.registry,
        mode,
        permissions: manifest.permissions,
        accepted_at: new Date().toISOString(),
      };
      lock.plugins[manifest.name] = entry;
      writeLock(this.options.projectDir, lock);
      return { name: manifest.name, entry, previous };
    } finally {
      rmSync(fetched.stage, { recursive: true, force: true });
    }
  }

  /** What `update` would change: the installed and the new version, with the changelog link. */
  async planUpdate(
    name: string,
    version: string | undefined,
  ): Promise<{ from: string; to: string; package: string; changelog: string | undefined; permissionsChanged: boolean; spec: string }> {
    const entry = this.entry(name);
    if (entry.source === 'link')
      throw new AgentryError('invalid_request', `plugin ${name} is linked from ${entry.path ?? '?'}: edit it there (changes are picked up on restart)`);
    const packument = await fetchPackument(this.options.registry, entry.package);
    const picked = pickVersion(packument, version);
    const spec = `${entry.package}@${picked.version}`;
    const inspected = await this.inspect(spec);
    const permissionsChanged = JSON.stringify(inspected.manifest.permissions) !== JSON.stringify(entry.permissions);
    return { from: entry.version, to: picked.version, package: entry.package, changelog: inspected.manifest.changelog, permissionsChanged, spec };
  }

  uninstall(name: string): LockEntry {
    const lock = readLock(this.options.projectDir);
    const entry = this.entry(name, lock.plugins);
    if (entry.source === 'registry') rmSync(installDir(this.options.projectDir, entry.package), { recursive: true, force: true });
    delete lock.plugins[name];
    writeLock(this.options.projectDir, lock);
    return entry;
  }

  /** Links the plugin in `dir` (development, recovery): loaded from there, listed as `linked`. */
  async link(dir: string, confirm: ConfirmPermissions, production = false): Promise<{ name: string; entry: LockEntry }> {
    const abs = path.resolve(dir);
    const loaded = loadManifest(abs);
    const { manifest } = loaded;
    const lock = readLock(this.options.projectDir);
    const previous = lock.plugins[manifest.name];
    if (previous !== undefined && previous.source !== 'link') {
      throw new AgentryError('conflict', `a plugin named ${manifest.name} is installed from ${previous.package}@${previous.version}; uninstall it first`);
    }
    const mode = modeOf(manifest, production);
    if (!(await confirm(manifest, `Link ${abs} (plugin ${manifest.name}) with these permissions?`))) {
      throw new AgentryError(
        'invalid_request',
        `the permissions of ${manifest.name} were not accepted: nothing linked (pass --accept-permissions to accept them)`,
      );
    }
    const entry: LockEntry = {
      package: loaded.packageName ?? manifest.name,
      version: manifest.version,
      source: 'link',
      path: abs,
      mode,
      permissions: manifest.permissions,
      accepted_at: new Date().toISOString(),
    };
    lock.plugins[manifest.name] = entry;
    writeLock(this.options.projectDir, lock);
    return { name: manifest.name, entry };
  }

  /**
   * Brings back every registry plugin of the lock whose directory is missing (a restored lock, a
   * fresh checkout): downloaded from `resolved`, checked against `integrity`. Returns the names restored.
   */
  async restore(): Promise<string[]> {
    const lock = readLock(this.options.projectDir);
    const restored: string[] = [];
    for (const [name, entry] of Object.entries(lock.plugins)) {
      if (entry.source !== 'registry' || existsSync(installDir(this.options.projectDir, entry.package))) continue;
      if (entry.resolved === undefined || entry.integrity === undefined) {
        throw new AgentryError('plugin_invalid', `${lockPath(this.options.projectDir)} plugins.${name}: has no resolved/integrity to reinstall from`);
      }
      const stage = this.staging();
      try {
        const dir = path.join(stage, 'package');
        await fetchAndUnpack(entry.resolved, entry.integrity, dir);
        const { manifest } = loadManifest(dir);
        if (manifest.name !== name || manifest.version !== entry.version) {
          throw new AgentryError(
            'plugin_install_failed',
            `${entry.resolved} holds ${manifest.name}@${manifest.version}, but the lock says ${name}@${entry.version}`,
          );
        }
        if (JSON.stringify(manifest.permissions) !== JSON.stringify(entry.permissions)) {
          throw new AgentryError('plugin_install_failed', `${name}@${entry.version} declares other permissions than the lock accepted: not restored`);
        }
        const dest = installDir(this.options.projectDir, entry.package);
        mkdirSync(path.dirname(dest), { recursive: true });
        renameSync(dir, dest);
        restored.push(name);
      } finally {
        rmSync(stage, { recursive: true, force: true });
      }
    }
    return restored;
  }

  /** `plugins doctor`: each check and its problem (undefined when fine). */
  async doctor(): Promise<Array<{ check: string; problem: string | undefined }>> {
    const checks: Array<{ check: string; problem: string | undefined }> = [];
    checks.push({ check: `registry ${this.options.registry}`, problem: await pingRegistry(this.options.registry) });
    let lockProblem: string | undefined;
    try {
      readLock(this.options.projectDir);
    } catch (error) {
      lockProblem = (error as Error).message;
    }
    checks.push({ check: `lock file ${lockPath(this.options.projectDir)}`, problem: lockProblem });
    const root = existsSync(pluginsRoot(this.options.projectDir)) ? pluginsRoot(this.options.projectDir) : this.options.projectDir;
    const stats = statfsSync(root);
    const free = stats.bavail * stats.bsize;
    checks.push({ check: `free disk at ${root}`, problem: free < 100 * 1024 * 1024 ? `only ${Math.round(free / 1024 / 1024)} MiB free` : undefined });
    if (lockProblem === undefined) {
      for (const plugin of this.list()) checks.push({ check: `plugin ${plugin.name}`, problem: plugin.state === 'ok' ? undefined : plugin.state });
    }
    return checks;
  }

  private entry(name: string, plugins = readLock(this.options.projectDir).plugins): LockEntry {
    const entry = plugins[name];
    if (entry === undefined) throw new AgentryError('not_found', `no plugin named ${name} in ${lockPath(this.options.projectDir)}`);
    return entry;
  }
}
