/** `agentry config show`: the resolved configuration, with where each value came from. */
import type { Command } from 'commander';
import { describeConfig } from '../../app/config-describe.js';
import { paint, table } from '../format.js';
import { configFrom, out, outJson, outStyle, type CliContext } from '../context.js';

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Inspect the configuration');
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
}
