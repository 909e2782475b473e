/**
 * `agentry spec lint [dir]` and `agentry spec migrate <file>` (spec-migrate.ts).
 * `spec lint`: `validate --strict` for CI — every error and every warning
 * (deprecations, policy warnings) fails: exit 2 on an error, 1 on warnings only, 0 when clean.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { specMigrate, type MigrateOptions } from './spec-migrate.js';
import { printValidation, validateProject, type ValidateOptions } from './validate.js';

export function registerSpec(program: Command, ctx: CliContext): void {
  const spec = program.command('spec').description("A project's specs: lint (fails on any warning), migrate (to the current version)");
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
  spec
    .command('migrate')
    .description(
      'Rewrite a spec of an older version (or a deprecated form) to the current one and print a unified diff; --check writes nothing and exits 1 when there is something to migrate',
    )
    .argument('<file>', 'the spec file (a workflow, agent, … YAML file)')
    .option('--output <file>', 'write the migrated spec here instead of over <file>')
    .option('--check', 'write nothing; exit 1 when the spec needs migrating, 0 when it is current')
    .option('--json', 'print { file, from, to, changes: [{ rule, path, line, message }], diff, written } as JSON')
    .action((file: string, opts: MigrateOptions) => {
      specMigrate(ctx, file, opts);
    });
}
