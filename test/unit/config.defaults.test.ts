/**
 * Loading configuration loads no database driver: `app/config.ts` reads database URLs and the
 * PostgreSQL defaults from `store/database-url.ts`, which imports none (kysely, pg and
 * better-sqlite3 are half of a command's start-up). Walks the imports that stay at run time
 * (type-only ones are erased) from `src/app/config.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DRIVERS = ['kysely', 'pg', 'better-sqlite3'];

/** The modules a file imports at run time: relative ones as paths, packages by name. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: string[] = [];
  for (const node of source.statements) {
    let specifier: ts.Expression | undefined;
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const onlyTypes =
        clause?.isTypeOnly === true ||
        (clause !== undefined &&
          clause.name === undefined &&
          named !== undefined &&
          ts.isNamedImports(named) &&
          named.elements.length > 0 &&
          named.elements.every((e) => e.isTypeOnly));
      if (!onlyTypes) specifier = node.moduleSpecifier;
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly) specifier = node.moduleSpecifier;
    if (specifier && ts.isStringLiteral(specifier)) found.push(specifier.text);
  }
  return found.map((s) => (s.startsWith('.') ? join(dirname(file), s.replace(/\.js$/, '.ts')) : s));
}

describe('loading configuration', () => {
  it('loads no database driver (kysely, pg, better-sqlite3), only store/database-url.ts of the store', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [join(REPO, 'src/app/config.ts')];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const target of runtimeImports(file)) {
        if (target.startsWith('/')) queue.push(target);
        else packages.add(target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0]!);
      }
    }
    expect(seen.size).toBeGreaterThan(20); // the walk followed config.ts's imports
    expect([...packages].filter((p) => DRIVERS.includes(p))).toEqual([]);
    const storeModules = [...seen].map((f) => relative(REPO, f)).filter((f) => f.startsWith('src/store/'));
    expect(storeModules).toEqual(['src/store/database-url.ts']);
  });
});
