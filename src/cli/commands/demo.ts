/**
 * `agentry demo`: runs `examples/demo`'s `welcome` workflow end to end on a fresh SQLite file,
 * against a local flaky HTTP service, with live progress; then says where to look.
 */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { loadProjectOrThrow, openAgentry } from '../../bootstrap.js';
import { paint } from '../format.js';
import { startFlakyServer } from '../flaky-server.js';
import { configFrom, loggerFor, out, outStyle, packageRoot, selfCommand, type CliContext } from '../context.js';
import { watchRun } from '../watch.js';
import { findWorkflow } from './run.js';

export const DEMO_WORKFLOW = 'welcome';

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('Run the example project (examples/demo) with live progress, against a local flaky HTTP service')
    .option('--name <name>', 'who to welcome', 'Ada Lovelace')
    .option('--vip', 'take the VIP branch (otherwise the `perks` step is skipped by its condition)')
    .addHelpText('after', '\nUses a fresh SQLite file under examples/demo/.agentry/ unless AGENTRY_DATABASE_URL is set.')
    .action(async (opts: { name: string; vip?: boolean }) => {
      const projectDir = join(packageRoot(), 'examples', 'demo');
      const config = configFrom(ctx, { projectDir });
      const project = await loadProjectOrThrow(config, ctx.env);
      const wf = findWorkflow(project, DEMO_WORKFLOW);
      const input = { name: opts.name, vip: opts.vip === true };
      if (config.sources.databaseUrl === 'default') {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${config.database.file}${suffix}`, { force: true });
      }

      const s = outStyle(ctx);
      const server = await startFlakyServer();
      try {
        const env = { ...ctx.env, DEMO_API_URL: server.url };
        const rel = (path: string) => relative(ctx.cwd, path) || '.';
        out(ctx, paint(s, 'bold', 'Agentry demo'));
        out(ctx, `  workflow  ${wf.name}  ${paint(s, 'gray', rel(join(projectDir, wf.file ?? 'workflows')))}`);
        out(ctx, `  input     ${JSON.stringify(input)}`);
        out(ctx, `  upstream  ${server.url}  ${paint(s, 'gray', '(answers 503 to the first request, so the profile step retries)')}`);
        out(ctx, `  store     ${config.database.file === ':memory:' ? ':memory:' : rel(config.database.file)}`);
        out(ctx);

        const app = await openAgentry(config, { logger: loggerFor(config, { interactive: true }), project, env });
        try {
          const run = await app.engine.startRun(wf.name, input);
          const dbHint =
            config.database.file === ':memory:'
              ? []
              : [`${paint(s, 'gray', 'the store, a plain SQLite file:')}\n    ${rel(config.database.file)}`];
          ctx.exitCode = await watchRun(ctx, app, run, wf, {
            json: false,
            extraHints: [
              ...dbHint,
              `${paint(s, 'gray', 'start a project of your own:')}\n    ${selfCommand(ctx)} init my-project`,
            ],
          });
        } finally {
          await app.close();
        }
      } finally {
        await server.close();
      }
    });
}
