/**
 * `agentry validate [dir]`: loads every spec of a project and reports each problem, and each
 * way a workflow breaks the active environment's policy (`--env <name>`), as file:line:col.
 * `--strict` counts warnings as errors (what `agentry spec lint` does for CI).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertProjectDir, AVAILABLE_KINDS, loadProject } from '../../app/project.js';
import { policyDiagnostics } from '../../app/policy-validate.js';
import { environmentFromEnv, formatDiagnostic, type Diagnostic } from '../../spec/index.js';
import { paint, plural } from '../format.js';
import { out, outJson, outStyle, type CliContext } from '../context.js';

export interface ValidateOptions {
  json?: boolean;
  env?: string;
  strict?: boolean;
}

export interface ValidateReport {
  valid: boolean;
  dir: string;
  environment: string | null;
  workflows: string[];
  diagnostics: Diagnostic[];
}

/** Loads and judges the project; `valid` is false on an error (or, `strict`, a warning). */
export async function validateProject(ctx: CliContext, dir: string | undefined, opts: ValidateOptions): Promise<ValidateReport> {
  const projectDir = resolve(ctx.cwd, dir ?? ctx.env.AGENTRY_PROJECT_DIR ?? '.');
  assertProjectDir(projectDir);
  const environment = opts.env === undefined ? environmentFromEnv(ctx.env) : { name: opts.env, source: '--env' };
  const { project, diagnostics } = await loadProject(projectDir, {
    availableKinds: AVAILABLE_KINDS,
    env: ctx.env,
    pluginsDir: projectDir,
    ...(environment ? { environment } : {}),
  });
  const all = [...diagnostics, ...(await policyDiagnostics(project))].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column,
  );
  const failing = all.filter((d) => d.severity === 'error' || opts.strict === true);
  return {
    valid: failing.length === 0,
    dir: projectDir,
    environment: project.settings.environment?.name ?? null,
    workflows: [...project.workflows.keys()].sort(),
    diagnostics: all,
  };
}

/** Prints a report as validate does. */
export function printValidation(ctx: CliContext, report: ValidateReport, opts: ValidateOptions): void {
  if (opts.json) {
    outJson(ctx, report);
    return;
  }
  const s = outStyle(ctx);
  for (const d of report.diagnostics) out(ctx, formatDiagnostic(d));
  const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = report.diagnostics.length - errors;
  const where = report.environment === null ? report.dir : `${report.dir} (environment ${report.environment})`;
  if (!report.valid) {
    const counts = [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter((t) => t !== '').join(', ');
    out(ctx, paint(s, 'red', `✗ ${counts} in ${where}${errors === 0 ? ' (--strict: warnings fail)' : ''}`));
  } else {
    const names = report.workflows.length > 0 ? `: ${report.workflows.join(', ')}` : '';
    out(ctx, `${paint(s, 'green', '✓')} ${where} is valid (${plural(report.workflows.length, 'workflow')}${names})`);
  }
}

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description("Check a project's specs; prints each problem as file:line:col path: message (exit 2 when invalid)")
    .argument('[dir]', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--env <environment>', "also judge every workflow against this environment's policy (environments: of agentry.yaml; default $AGENTRY_ENVIRONMENT)")
    .option('--strict', 'count warnings as errors (exit 2 on any)')
    .option('--json', 'print { valid, dir, environment, workflows, diagnostics } as JSON')
    .action(async (dir: string | undefined, opts: ValidateOptions) => {
      const report = await validateProject(ctx, dir, opts);
      ctx.exitCode = report.valid ? 0 : 2;
      printValidation(ctx, report, opts);
    });
}
