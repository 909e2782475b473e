/** `agentry validate [dir]`: loads every spec of a project and reports each problem. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { assertProjectDir, AVAILABLE_KINDS, loadProject } from '../../app/project.js';
import { formatDiagnostic } from '../../spec/index.js';
import { paint, plural } from '../format.js';
import { out, outJson, outStyle, type CliContext } from '../context.js';

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description("Check a project's specs; prints each problem as file:line:col path: message (exit 2 when invalid)")
    .argument('[dir]', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--json', 'print { valid, workflows, diagnostics } as JSON')
    .action(async (dir: string | undefined, opts: { json?: boolean }) => {
      const projectDir = resolve(ctx.cwd, dir ?? ctx.env.AGENTRY_PROJECT_DIR ?? '.');
      assertProjectDir(projectDir);
      const { project, diagnostics } = await loadProject(projectDir, { availableKinds: AVAILABLE_KINDS, env: ctx.env });
      const errors = diagnostics.filter((d) => d.severity === 'error');
      const workflows = [...project.workflows.keys()].sort();
      ctx.exitCode = errors.length > 0 ? 2 : 0;
      if (opts.json) {
        outJson(ctx, { valid: errors.length === 0, dir: projectDir, workflows, diagnostics });
        return;
      }
      const s = outStyle(ctx);
      for (const d of diagnostics) out(ctx, formatDiagnostic(d));
      if (errors.length > 0) {
        out(ctx, paint(s, 'red', `✗ ${plural(errors.length, 'error')} in ${projectDir}`));
      } else {
        const names = workflows.length > 0 ? `: ${workflows.join(', ')}` : '';
        out(ctx, `${paint(s, 'green', '✓')} ${projectDir} is valid (${plural(workflows.length, 'workflow')}${names})`);
      }
    });
}
