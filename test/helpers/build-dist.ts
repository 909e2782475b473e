/**
 * Vitest global setup: compiles `src/` to `dist/` once per test run, so that the CLI and role
 * processes the tests spawn run plain JavaScript (`node dist/cli/main.js`) instead of compiling
 * the sources through tsx in every process.
 *
 * Each file is compiled on its own with the compiler and options of `npm run build`
 * (tsconfig.build.json): the JavaScript and source maps are byte for byte what it writes. Only
 * type checking (the `typecheck` script does it) and declaration files are left out. A file
 * whose output is newer than its source is not compiled again.
 *
 * The bundle `bin/agentry.js` runs (`scripts/bundle.ts`, the last step of `npm run build`) is built
 * again when a source is newer than it, so that no test runs a stale one through `bin/agentry.js`.
 *
 * The MCP fixture server the stdio tool tests spawn (`test/fixtures/mcp/server.ts`) is compiled
 * the same way to `test/.build/mcp-server.mjs` (`mcp-fixture.ts`): a spawned server then starts
 * in a fraction of the time `--import tsx` takes. It imports packages only, so one file suffices.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { BUNDLE_ENTRY, bundle } from '../../scripts/bundle.js';
import { MCP_FIXTURE_COMPILED, MCP_FIXTURE_SOURCE } from './mcp-fixture.js';

const REPO = resolve(import.meta.dirname, '../..');

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export default async function buildDist(): Promise<void> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(REPO, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(`tsconfig.build.json: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
      },
    },
  );
  if (!parsed) throw new Error('cannot read tsconfig.build.json');
  const { rootDir = join(REPO, 'src'), outDir = join(REPO, 'dist') } = parsed.options;
  // One file at a time the compiler cannot look up package.json "type": every file here is ESM.
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    declaration: false,
  };
  const compile = (source: string, target: string): void => {
    if (mtime(target) > mtime(source)) return;
    const { outputText, sourceMapText } = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions, fileName: source });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    if (sourceMapText !== undefined) writeFileSync(`${target}.map`, sourceMapText);
  };
  for (const source of parsed.fileNames) compile(source, join(outDir, relative(rootDir, source)).replace(/\.ts$/, '.js'));
  compile(MCP_FIXTURE_SOURCE, MCP_FIXTURE_COMPILED);
  const bundleInputs = [...parsed.fileNames, join(REPO, 'scripts/bundle.ts'), join(REPO, 'package-lock.json')];
  if (Math.max(...bundleInputs.map(mtime)) >= mtime(BUNDLE_ENTRY)) await bundle();
}
