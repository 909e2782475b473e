/** `agentry init [dir]`: writes the example project's spec files into a new project. */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentryError } from '../../errors.js';
import { paint } from '../format.js';
import { out, outStyle, packageRoot, selfCommand, type CliContext } from '../context.js';

/** The files of `examples/demo` a new project gets (no database, no local state). */
export function exampleSpecFiles(exampleDir: string): string[] {
  const files = ['agentry.yaml'];
  const workflows = join(exampleDir, 'workflows');
  for (const name of readdirSync(workflows).sort()) if (/\.ya?ml$/.test(name)) files.push(`workflows/${name}`);
  return files;
}

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('Create a project with an example workflow (refuses a non-empty directory unless --force)')
    .argument('[dir]', 'directory to create the project in', '.')
    .option('--force', 'write into a non-empty directory (overwrites files of the same name)')
    .action((dir: string, opts: { force?: boolean }) => {
      const target = resolve(ctx.cwd, dir);
      if (existsSync(target)) {
        if (!statSync(target).isDirectory()) throw new AgentryError('invalid_request', `${dir} exists and is not a directory`);
        const entries = readdirSync(target);
        if (entries.length > 0 && !opts.force) {
          throw new AgentryError('invalid_request', `${dir} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}); choose an empty directory or add --force`);
        }
      }
      const example = join(packageRoot(), 'examples', 'demo');
      const files = exampleSpecFiles(example);
      mkdirSync(join(target, 'workflows'), { recursive: true });
      for (const file of files) cpSync(join(example, file), join(target, file));

      const s = outStyle(ctx);
      const rel = relative(ctx.cwd, target) || '.';
      const cli = selfCommand(ctx);
      out(ctx, `${paint(s, 'green', '✓')} Created an Agentry project in ${paint(s, 'bold', rel)}`);
      for (const file of files) out(ctx, `    ${file}`);
      out(ctx);
      out(ctx, 'Next steps:');
      if (rel !== '.') out(ctx, `  cd ${rel}`);
      out(ctx, `  ${cli} validate                                      check the specs`);
      out(ctx, `  ${cli} run hello --input '{"name":"Ada"}' --wait     run a workflow and watch it`);
      out(ctx, `  ${cli} runs list                                     see what ran`);
      out(ctx, `  ${cli} start worker                                  execute runs started without --wait`);
      out(ctx);
      out(ctx, 'workflows/welcome.yaml calls an HTTP service at DEMO_API_URL; `agentry demo` runs it against a local one.');
    });
}
