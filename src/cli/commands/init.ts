/** `agentry init [dir]`: writes the example project's spec files into a new project. */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentryError } from '../../lib/errors.js';
import { paint } from '../format.js';
import { out, outStyle, packageRoot, selfCommand, type CliContext } from '../context.js';

/** The files of `examples/demo` a new project gets: every file but local state (`.agentry/`, dotfiles). */
export function exampleSpecFiles(exampleDir: string, sub = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(exampleDir, sub), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
    if (entry.isDirectory()) files.push(...exampleSpecFiles(exampleDir, path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** A package.json for the example's MCP tool server (it imports the MCP SDK). */
function projectPackageJson(name: string): string {
  const own = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const sdk = own.dependencies?.['@modelcontextprotocol/sdk'] ?? 'latest';
  return `${JSON.stringify({ name, private: true, type: 'module', dependencies: { '@modelcontextprotocol/sdk': sdk } }, null, 2)}\n`;
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
          throw new AgentryError(
            'invalid_request',
            `${dir} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}); choose an empty directory or add --force`,
          );
        }
      }
      const example = join(packageRoot(), 'examples', 'demo');
      const files = exampleSpecFiles(example);
      for (const file of files) {
        mkdirSync(dirname(join(target, file)), { recursive: true });
        cpSync(join(example, file), join(target, file));
      }
      const packageJson = join(target, 'package.json');
      const wrotePackage = !existsSync(packageJson);
      if (wrotePackage) {
        writeFileSync(
          packageJson,
          projectPackageJson(
            basename(target)
              .toLowerCase()
              .replace(/[^a-z0-9-]+/g, '-') || 'agentry-project',
          ),
        );
        files.push('package.json');
      }

      const s = outStyle(ctx);
      const rel = relative(ctx.cwd, target) || '.';
      const cli = selfCommand(ctx);
      out(ctx, `${paint(s, 'green', '✓')} Created an Agentry project in ${paint(s, 'bold', rel)}`);
      for (const file of files) out(ctx, `    ${file}`);
      out(ctx);
      out(ctx, 'Next steps:');
      if (rel !== '.') out(ctx, `  cd ${rel}`);
      if (wrotePackage) out(ctx, `  npm install                                           the example's MCP tool server needs its SDK`);
      out(ctx, `  ${cli} validate                                      check the specs`);
      out(ctx, `  ${cli} run hello --input '{"name":"Ada"}' --wait     run a workflow and watch it`);
      out(ctx, `  ${cli} runs list                                     see what ran`);
      out(ctx, `  ${cli} start worker                                  execute runs started without --wait`);
      out(ctx);
      out(ctx, 'workflows/welcome.yaml calls an HTTP service at DEMO_API_URL; `agentry demo` runs it against a local one.');
    });
}
