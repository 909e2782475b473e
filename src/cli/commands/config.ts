/**
 * `agentry config show`: the resolved configuration, with where each value came from.
 * `agentry config validate`: every problem `serve` would refuse to start with (production) or warn of.
 */
import type { Command } from 'commander';
import { describeConfig } from '../../app/config-describe.js';
import { paint, plural, table } from '../format.js';
import { configFrom, out, outJson, outStyle, type CliContext } from '../context.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Inspect and validate the configuration');
  config
    .command('show')
    .description('Print the resolved configuration (secrets masked) and the source of each value')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--json', 'print as JSON')
    .action((opts: { dir?: string; json?: boolean }) => {
      const resolved = configFrom(ctx, { projectDir: opts.dir });
      const rows = describeConfig(resolved);
      if (opts.json) {
        outJson(ctx, Object.fromEntries(rows.map((r) => [r.key, { value: r.value, source: r.source, env: r.env }])));
        return;
      }
      const s = outStyle(ctx);
      const body = rows.map((r) => [r.key, String(r.value ?? '-'), paint(s, 'gray', r.source), paint(s, 'gray', r.env)]);
      out(ctx, table(s, ['option', 'value', 'source', 'env'], body));
    });
  config
    .command('secrets')
    .description('Every secret the configuration and project reference and whether it resolves (never a value); as credentials list')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .; ignored with AGENTRY_URL)')
    .option('--unresolved', 'only the secrets that do not resolve')
    .option('--json', 'print { items: [{ name, resolved, source, used_by }] } as GET /v1/security/credentials does')
    .action(async (opts: { dir?: string; unresolved?: boolean; json?: boolean }) => {
      const { printInventory } = await import('./credentials.js');
      await printInventory(ctx, opts);
    });
  config
    .command('validate')
    .description('Check the configuration and project as serve would, with the production checks; one line per problem (exit 2 when serve would refuse)')
    .argument('[dir]', 'project directory (default: --dir, $AGENTRY_PROJECT_DIR or .)')
    .option('--dir <dir>', 'project directory')
    .option('--env <env>', 'development or production (default $AGENTRY_ENV or development)')
    .option('--strict', "count production's findings as errors in development too")
    .option('--json', 'print { env, dir, ok, problems: [{ check, severity, message }] }')
    .action(async (dirArg: string | undefined, opts: { dir?: string; env?: string; strict?: boolean; json?: boolean }) => {
      // The spec, gateway and tool checks load only for this subcommand.
      const { validateConfiguration } = await import('../../app/config-validate.js');
      const report = await validateConfiguration({
        flags: { projectDir: dirArg ?? opts.dir, env: opts.env },
        env: ctx.env,
        cwd: ctx.cwd,
        strict: opts.strict === true,
      });
      ctx.exitCode = report.ok ? 0 : 2;
      if (opts.json) {
        outJson(ctx, report);
        return;
      }
      const s = outStyle(ctx);
      for (const p of report.problems) out(ctx, `${paint(s, p.severity === 'error' ? 'red' : 'yellow', p.severity)}: ${p.message}`);
      const errors = report.problems.filter((p) => p.severity === 'error').length;
      const warnings = report.problems.length - errors;
      if (errors > 0)
        out(
          ctx,
          paint(
            s,
            'red',
            `✗ ${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}: ${report.dir} (${report.env}) would not start`,
          ),
        );
      else if (warnings > 0) {
        // In development the warnings are what production refuses; in production, what it starts with.
        const after = report.env === 'production' ? '' : '; production would refuse it';
        out(ctx, paint(s, 'yellow', `! ${report.dir} starts in ${report.env} mode with ${plural(warnings, 'warning')}${after}`));
      } else out(ctx, `${paint(s, 'green', '✓')} ${report.dir} is ready to start in ${report.env} mode`);
    });
}
