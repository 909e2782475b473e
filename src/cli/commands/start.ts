/** `agentry start worker`: executes runs (worker pool + scheduler) until SIGTERM or SIGINT. */
import type { Command } from 'commander';
import { openAgentry } from '../../bootstrap.js';
import { configFrom, loggerFor, parseIntegerArg, type CliContext } from '../context.js';

export function registerStart(program: Command, ctx: CliContext): void {
  const start = program.command('start').description('Run one role of Agentry in this process');
  start
    .command('worker')
    .description('Execute runs from the store (worker pool and scheduler) until SIGTERM/SIGINT')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--concurrency <n>', 'steps this process runs at once (1..1000; default $AGENTRY_CONCURRENCY or 10)', parseIntegerArg(1, 1000))
    .addHelpText('after', '\nLogs are JSON lines on stderr; the first says the worker is ready. Stop it with SIGTERM or Ctrl-C:\nrunning steps get AGENTRY_SHUTDOWN_GRACE to finish, and nothing is lost either way.')
    .action(async (opts: { dir?: string; concurrency?: number }) => {
      const config = configFrom(ctx, { projectDir: opts.dir, concurrency: opts.concurrency });
      const logger = loggerFor(config).child({ role: 'worker' });
      const app = await openAgentry(config, { logger, env: ctx.env });
      let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        onSignal = resolve;
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      try {
        await app.engine.start();
        logger.info(
          {
            worker: app.engine.workerId,
            store: app.store.location,
            project: config.projectDir,
            workflows: [...(app.project?.workflows.keys() ?? [])],
            concurrency: config.engine.concurrency,
          },
          `worker ready: ${app.engine.workerId} on ${app.store.location}`,
        );
        const signal = await stopped;
        logger.info({ signal, graceMs: config.engine.shutdownGraceMs }, 'stopping: running steps may finish within the grace period');
      } finally {
        if (onSignal) {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        }
        await app.close();
      }
      logger.info('worker stopped');
    });
}
