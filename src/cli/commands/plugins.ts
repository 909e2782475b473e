/**
 * `agentry plugins inspect|install|list|update|uninstall|link|disable|enable|doctor`: the project's plugins and
 * `agentry-plugins.lock` (docs/plugins.md). Installing needs the permissions accepted
 * (`--accept-permissions`, or a yes at the prompt on a terminal); `install` without a package
 * brings back every plugin of the lock (after a restore). Exit 2 on bad input, 1 when a fetch fails.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { AgentryError } from '../../lib/errors.js';
import { localOperator } from '../../app/caller.js';
import type { PluginManifest } from '../../spec/plugin-manifest.js';
import { describePermissions, PluginManager, type ConfirmPermissions } from '../../app/plugins.js';
import { registryUrl } from '../../app/plugin-registry.js';
import { configFrom, loggerFor, out, outJson, outStyle, type CliContext, DIR_OPTION } from '../context.js';
import { paint, table, type Style } from '../format.js';
import { RemoteClient } from '../remote.js';
import type { PluginStatus } from '../../app/plugin-service.js';

interface CommonOptions {
  dir?: string;
  registry?: string;
  json?: boolean;
}

/** The server `AGENTRY_URL` names (list, disable and enable go through its API then), or undefined: the project's lock and store. */
function remoteOf(ctx: CliContext, opts: CommonOptions): RemoteClient | undefined {
  const config = configFrom(ctx, { projectDir: opts.dir });
  if (config.client.url === undefined) return undefined;
  return new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
}

function managerOf(ctx: CliContext, opts: CommonOptions): { manager: PluginManager; production: boolean } {
  const config = configFrom(ctx, { projectDir: opts.dir });
  const registry = registryUrl(opts.registry, ctx.env, config.projectDir);
  return { manager: new PluginManager({ projectDir: config.projectDir, registry }), production: config.env === 'production' };
}

function printManifest(ctx: CliContext, manifest: PluginManifest): void {
  const adds = manifest.adds;
  out(ctx, `${manifest.name} ${manifest.version}${manifest.description === undefined ? '' : ` — ${manifest.description}`}`);
  out(
    ctx,
    `adds: steps ${adds.steps?.map((s) => s.kind).join(', ') || 'none'}; tools ${adds.tools?.map((t) => t.name).join(', ') || 'none'}; routes ${adds.routes?.map((r) => `${r.method} /v1/plugins/${manifest.name}${r.path}`).join(', ') || 'none'}`,
  );
  out(ctx, 'permissions:');
  for (const line of describePermissions(manifest)) out(ctx, `  ${line}`);
  if (manifest.changelog !== undefined) out(ctx, `changelog: ${manifest.changelog}`);
}

/** Accepts with `--accept-permissions`/`--yes`; asks on a terminal; refuses otherwise. */
function confirmer(ctx: CliContext, accepted: boolean | undefined, show: boolean): ConfirmPermissions {
  return async (manifest, question) => {
    if (show) printManifest(ctx, manifest);
    if (accepted === true) return true;
    if (process.stdin.isTTY !== true || ctx.stdout !== process.stdout) return false;
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  };
}

/**
 * The plugins as a table, the server's or the lock's: `problem` is what to show in yellow as the
 * state, or undefined for a plugin in order (shown green as its state).
 */
function pluginTable<P extends { name: string; package: string; version: string; source: string; mode: string; state: string }>(
  style: Style,
  plugins: readonly P[],
  problem: (p: P) => string | undefined,
): string {
  const rows = plugins.map((p) => {
    const trouble = problem(p);
    return [
      p.name,
      p.package,
      p.version,
      p.source === 'link' ? 'linked' : 'registry',
      p.mode,
      trouble === undefined ? paint(style, 'green', p.state) : paint(style, 'yellow', trouble),
    ];
  });
  return table(style, ['NAME', 'PACKAGE', 'VERSION', 'SOURCE', 'MODE', 'STATE'], rows);
}

export function registerPlugins(program: Command, ctx: CliContext): void {
  const plugins = program
    .command('plugins')
    .description('Plugins of the project (agentry-plugins.lock): inspect, install, list, update, uninstall, link, disable, enable, doctor')
    .addHelpText(
      'after',
      `
A plugin is an npm package with an Agentry manifest (agentry-plugin.json) that declares what it adds
and the permissions it needs. agentry-plugins.lock is the source of truth: back it up; after a restore,
\`agentry plugins install\` brings its plugins back. See docs/plugins.md.`,
    );
  const registryOption = ['--registry <url>', 'npm registry (default: npm_config_registry, the project .npmrc, or registry.npmjs.org)'] as const;

  plugins
    .command('inspect <package>')
    .description("Show a package's manifest and permissions (pkg@1.2.3) without installing it")
    .option(...registryOption)
    .option(...DIR_OPTION)
    .option('--json', 'print the manifest as JSON')
    .action(async (spec: string, opts: CommonOptions) => {
      const { manager } = managerOf(ctx, opts);
      const result = await manager.inspect(spec);
      if (opts.json === true) return outJson(ctx, result);
      printManifest(ctx, result.manifest);
      out(ctx, `package: ${result.package} (${result.resolved})`);
      out(ctx, `integrity: ${result.integrity}`);
    });

  plugins
    .command('install [package]')
    .description('Install pkg@1.2.3 from the npm registry and record it in the lock; without a package, reinstall every plugin of the lock that is missing')
    .option('--accept-permissions', 'accept the permissions the manifest declares (otherwise asked on a terminal, refused elsewhere)')
    .option(...registryOption)
    .option(...DIR_OPTION)
    .option('--json', 'print the lock entry as JSON')
    .action(async (spec: string | undefined, opts: CommonOptions & { acceptPermissions?: boolean }) => {
      const { manager, production } = managerOf(ctx, opts);
      if (spec === undefined) {
        const restored = await manager.restore();
        if (opts.json === true) return outJson(ctx, { restored });
        out(ctx, restored.length === 0 ? 'Every plugin of the lock is installed.' : `Reinstalled from the lock (integrity checked): ${restored.join(', ')}`);
        return;
      }
      const result = await manager.install(spec, confirmer(ctx, opts.acceptPermissions, opts.json !== true), production);
      if (opts.json === true) return outJson(ctx, { name: result.name, ...result.entry });
      out(ctx, `Installed ${result.entry.package}@${result.entry.version} as plugin ${result.name} (${result.entry.mode}); recorded in agentry-plugins.lock`);
    });

  plugins
    .command('list')
    .description('The plugins of the lock, with version, source, isolation mode and state')
    .option(...DIR_OPTION)
    .option('--json', 'print the list as JSON')
    .action(async (opts: CommonOptions) => {
      const server = remoteOf(ctx, opts);
      if (server !== undefined) {
        // AGENTRY_URL: the server's view (its lock, the fleet's switches).
        const { items: remote } = await server.request<{ items: PluginStatus[] }>('GET', '/v1/plugins');
        if (opts.json === true) return outJson(ctx, { items: remote });
        if (remote.length === 0) return out(ctx, 'No plugins on the server.');
        return out(
          ctx,
          pluginTable(outStyle(ctx), remote, (p) => (p.state === 'enabled' ? undefined : `${p.state}${p.disabled_reason ? `: ${p.disabled_reason}` : ''}`)),
        );
      }
      const { manager } = managerOf(ctx, opts);
      const items = manager.list();
      if (opts.json === true) return outJson(ctx, { items });
      if (items.length === 0) return out(ctx, 'No plugins (agentry-plugins.lock is empty or absent).');
      out(
        ctx,
        pluginTable(outStyle(ctx), items, (p) => (p.state === 'ok' ? undefined : p.state)),
      );
    });

  plugins
    .command('update <name> [version]')
    .description('Update a plugin: shows old → new and the changelog link, and asks first (--yes)')
    .option('--yes', 'update without asking (the new permissions are accepted too)')
    .option(...registryOption)
    .option(...DIR_OPTION)
    .action(async (name: string, version: string | undefined, opts: CommonOptions & { yes?: boolean }) => {
      const { manager, production } = managerOf(ctx, opts);
      const plan = await manager.planUpdate(name, version);
      out(ctx, `${name}: ${plan.package} ${plan.from} → ${plan.to}`);
      out(ctx, `changelog: ${plan.changelog ?? '(the manifest names none)'}`);
      if (plan.permissionsChanged) out(ctx, 'the new version declares different permissions:');
      if (plan.from === plan.to) return out(ctx, 'Already at that version; nothing changed.');
      const result = await manager.install(plan.spec, confirmer(ctx, opts.yes, plan.permissionsChanged), production);
      out(ctx, `Updated ${name} to ${result.entry.version}`);
    });

  plugins
    .command('uninstall <name>')
    .description('Remove a plugin: its files and its lock entry')
    .option(...DIR_OPTION)
    .action((name: string, opts: CommonOptions) => {
      const { manager } = managerOf(ctx, opts);
      const entry = manager.uninstall(name);
      out(ctx, `Uninstalled ${name} (${entry.package}@${entry.version}); restart the servers to unload it`);
    });

  plugins
    .command('link <dir>')
    .description('Use the plugin in a local directory (development, recovery): listed as linked, changes picked up on restart')
    .option('--accept-permissions', 'accept the permissions the manifest declares')
    .option(...DIR_OPTION)
    .action(async (dir: string, opts: CommonOptions & { acceptPermissions?: boolean }) => {
      const { manager, production } = managerOf(ctx, opts);
      const result = await manager.link(dir, confirmer(ctx, opts.acceptPermissions, true), production);
      out(ctx, `Linked ${result.entry.path ?? dir} as plugin ${result.name} (${result.entry.mode})`);
    });

  const switchPlugin = async (name: string, opts: CommonOptions & { reason?: string }, disable: boolean) => {
    const server = remoteOf(ctx, opts);
    if (server !== undefined) {
      // AGENTRY_URL: through the server's API (a key with workers:write), audited there.
      const path = `/v1/plugins/${encodeURIComponent(name)}/${disable ? 'disable' : 'enable'}`;
      const status = await server.request<PluginStatus>('POST', path, disable ? { reason: opts.reason ?? '' } : {});
      if (opts.json === true) return outJson(ctx, status);
      return out(
        ctx,
        disable ? `Disabled plugin ${name} on every process (within 5 s; calls in flight finish): ${opts.reason ?? ''}` : `Enabled plugin ${name}`,
      );
    }
    const config = configFrom(ctx, { projectDir: opts.dir });
    const { openLocalPlugins } = await import('../../app/local.js');
    const local = await openLocalPlugins(config, { logger: loggerFor(config), env: ctx.env });
    try {
      const caller = localOperator(ctx.env);
      const status = disable ? await local.plugins.disable(caller, name, opts.reason ?? '') : await local.plugins.enable(caller, name);
      if (opts.json === true) return outJson(ctx, status);
      out(
        ctx,
        disable
          ? `Disabled plugin ${name} on every process of this store (within 5 s; calls in flight finish): ${opts.reason ?? ''}`
          : `Enabled plugin ${name}`,
      );
    } finally {
      await local.close();
    }
  };

  plugins
    .command('disable <name>')
    .description('Disable a plugin on every process of the store (stored, kept across restarts): new calls refused, its routes 404, calls in flight finish')
    .requiredOption('--reason <text>', 'why (shown in plugin_disabled errors and the audit log)')
    .option(...DIR_OPTION)
    .option('--json', 'print the plugin as JSON')
    .action((name: string, opts: CommonOptions & { reason: string }) => {
      if (opts.reason.trim() === '' || opts.reason.length > 500) throw new AgentryError('invalid_request', '--reason must be 1–500 characters');
      return switchPlugin(name, opts, true);
    });

  plugins
    .command('enable <name>')
    .description('Enable a disabled plugin on every process of the store')
    .option(...DIR_OPTION)
    .option('--json', 'print the plugin as JSON')
    .action((name: string, opts: CommonOptions) => switchPlugin(name, opts, false));

  plugins
    .command('doctor')
    .description('Check what plugin installs need: registry reachable, lock file parses, free disk, each plugin loadable (exit 1 naming the failing check)')
    .option(...registryOption)
    .option(...DIR_OPTION)
    .option('--json', 'print the checks as JSON')
    .action(async (opts: CommonOptions) => {
      const { manager } = managerOf(ctx, opts);
      const checks = await manager.doctor();
      const failed = checks.filter((c) => c.problem !== undefined);
      if (opts.json === true) outJson(ctx, { checks });
      else for (const c of checks) out(ctx, `${c.problem === undefined ? 'ok  ' : 'FAIL'} ${c.check}${c.problem === undefined ? '' : `: ${c.problem}`}`);
      if (failed.length > 0) throw new AgentryError('plugin_install_failed', `plugins doctor: ${failed.map((c) => c.check).join('; ')} failed`);
    });
}
