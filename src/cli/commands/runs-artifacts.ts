/**
 * `agentry runs artifacts <id>` (the files a run's steps wrote) and `agentry runs artifact <id>
 * <name>` (one of them, to a file or to stdout), on the project's store or (with `AGENTRY_URL`)
 * on a server. `--json` prints what `GET /v1/runs/{id}/artifacts` returns.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentryError } from '../../lib/errors.js';
import { formatBytes } from '../../lib/bytes.js';
import { DIR_OPTION, TENANT_OPTION, out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table } from '../format.js';
import type { OpenRunsOptions, RunsApi } from '../runs-api.js';

/** How `runs.ts` opens the runs of the store or server for a command. */
export type WithRuns = <T>(ctx: CliContext, dir: string | undefined, fn: (api: RunsApi) => Promise<T>, options?: OpenRunsOptions) => Promise<T>;

interface Common {
  tenant?: string;
  dir?: string;
}

function tenantOf(opts: Common): OpenRunsOptions {
  return opts.tenant === undefined ? {} : { tenant: opts.tenant };
}

export function registerRunArtifacts(runs: Command, ctx: CliContext, withRuns: WithRuns): void {
  runs
    .command('artifacts')
    .description("List the files a run's steps wrote (name, size, content type, step, sha256)")
    .argument('<id>', 'run id')
    .option('--json', 'print { run_id, items, total_bytes } as GET /v1/runs/{id}/artifacts does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, opts: Common & { json?: boolean }) => {
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const list = await api.artifacts(id);
          if (opts.json) return outJson(ctx, list);
          const s = outStyle(ctx);
          if (list.items.length === 0) return out(ctx, paint(s, 'gray', `run ${id} has no artifacts`));
          const rows = list.items.map((a) => [a.name, formatBytes(a.size), a.content_type, a.step, a.created_at, a.sha256.slice(0, 12)]);
          out(ctx, table(s, ['NAME', 'SIZE', 'TYPE', 'STEP', 'CREATED', 'SHA256'], rows));
          out(ctx, paint(s, 'gray', `${list.items.length} file(s), ${formatBytes(list.total_bytes)}`));
        },
        tenantOf(opts),
      );
    });

  runs
    .command('artifact')
    .description('Download one artifact of a run: to --output, or its bytes to stdout')
    .argument('<id>', 'run id')
    .argument('<name>', 'artifact name, e.g. out/report.md')
    .option('-o, --output <file>', 'write it to this file (refused when the file exists, unless --force)')
    .option('--force', 'with --output, replace an existing file')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (id: string, name: string, opts: Common & { output?: string; force?: boolean }) => {
      if (opts.output !== undefined && opts.output.trim() === '') throw new AgentryError('invalid_request', '--output needs a file name');
      await withRuns(
        ctx,
        opts.dir,
        async (api) => {
          const { content } = await api.artifact(id, name);
          if (opts.output === undefined) {
            ctx.stdout.write(content);
            return;
          }
          const file = resolve(ctx.cwd, opts.output);
          try {
            await writeFile(file, content, { flag: opts.force ? 'w' : 'wx' });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
              throw new AgentryError('conflict', `${opts.output} exists; pass --force to replace it`, { cause: error });
            }
            throw error;
          }
          ctx.stderr.write(`wrote ${opts.output} (${formatBytes(content.byteLength)})\n`);
        },
        tenantOf(opts),
      );
    });
}
