/**
 * `agentry support-bundle --out <file.tgz> [--run <id> …] [--url <api>] [--log-file <path> …]`:
 * a gzip tar of what support needs for an unknown failure — versions, the resolved configuration
 * (secrets masked), migrations, workers, maintenance, counts, a metrics snapshot, recent warnings
 * and errors, the server's /readyz, and each run asked for — nothing secret. A part that cannot
 * be collected is `<file>.error.txt` in the bundle; the bundle is still written (exit 0, a
 * warning on stderr). See docs/operations/support-bundle.md.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import { configFrom, loggerFor, out, outJson, type CliContext, DIR_OPTION } from '../context.js';
import { RemoteClient } from '../remote.js';
import { maskSecrets } from '../../lib/redact.js';

interface BundleFlags {
  out: string;
  run: string[];
  url?: string;
  logFile: string[];
  json?: boolean;
  dir?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSupportBundle(program: Command, ctx: CliContext): void {
  program
    .command('support-bundle')
    .description('Write a support bundle (.tgz): versions, redacted configuration, migrations, workers, counts, metrics, errors, runs — nothing secret')
    .requiredOption('--out <file>', 'the archive to write (gzip tar, mode 0600)')
    .option('--run <id>', 'also a run: its record, steps, attempts, events and audit entries (repeatable)', collect, [])
    .option('--url <url>', 'a server to read /metrics and /readyz from (default: $AGENTRY_URL; its key: $AGENTRY_API_KEY with metrics:read)')
    .option('--log-file <path>', 'a log file to take recent warnings and errors from (repeatable; e.g. journalctl -u agentry > agentry.log)', collect, [])
    .option('--json', 'print { out, files, failed, skipped }')
    .option(...DIR_OPTION)
    .addHelpText('after', "\nThe store is the configuration's (AGENTRY_DATABASE_URL or the project's); it is only read. See docs/operations/support-bundle.md.")
    .action(async (opts: BundleFlags) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      const url = opts.url ?? config.client.url;
      const client = url === undefined ? undefined : new RemoteClient({ url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
      const { writeDeploymentBundle } = await import('../../app/support.js');
      const result = await writeDeploymentBundle({
        config,
        env: ctx.env,
        logger: loggerFor(config),
        caller: localOperator(ctx.env),
        out: resolve(ctx.cwd, opts.out),
        runIds: opts.run,
        logFiles: opts.logFile.map((f) => resolve(ctx.cwd, f)),
        doctor: { flags: { projectDir: opts.dir }, env: ctx.env, cwd: ctx.cwd, url },
        remote: client && { url: maskSecrets(client.url), get: (path, accept) => client.fetchText(path, accept) },
        onProgress: (line) => ctx.stderr.write(`${line}\n`),
      });
      if (result.failed.length > 0)
        ctx.stderr.write(
          `warning: ${result.failed.length} part(s) could not be collected (see README.txt in the bundle): ${result.failed.map((f) => f.file).join(', ')}\n`,
        );
      if (opts.json === true) return outJson(ctx, result);
      out(
        ctx,
        `Support bundle written to ${result.out} (${result.files.length} files${result.failed.length > 0 ? `, ${result.failed.length} with errors` : ''}).`,
      );
    });
}
