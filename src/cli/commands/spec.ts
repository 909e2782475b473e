/**
 * `agentry spec lint [dir]`: `validate --strict` for CI — every error and every warning
 * (deprecations, policy warnings) fails: exit 2 on an error, 1 on warnings only, 0 when clean.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { printValidation, validateProject, type ValidateOptions } from './validate.js';

export function registerSpec(program: Command, ctx: CliContext): void {
  const spec = program.command('spec').description("CI checks of a project's specs: lint (fails on any warning)");
  spec
    .command('lint')
    .description('Check the specs as validate --strict does: exit 2 on an error, 1 on warnings only (deprecations, policy warnings), 0 when clean')
    .argument('[dir]', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <environment>', "also judge every workflow against this environment's policy (default $AGENTRY_ENVIRONMENT)")
    .option('--json', 'print { valid, dir, environment, workflows, diagnostics } as JSON')
    .action(async (dir: string | undefined, opts: ValidateOptions) => {
      const report = await validateProject(ctx, dir, { ...opts, strict: true });
      ctx.exitCode = report.diagnostics.some((d) => d.severity === 'error') ? 2 : report.valid ? 0 : 1;
      printValidation(ctx, report, { ...opts, strict: true });
    });
}
