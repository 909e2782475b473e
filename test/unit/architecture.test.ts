/**
 * The module layers of docs/architecture.md hold: lint refuses an import that climbs them,
 * and no source file takes part in an import cycle (type-only imports count too: a cycle
 * of types is still two modules that cannot be read one without the other).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(REPO, 'src');

/** Every relative import of every `.ts` file under src/, as repository-relative paths. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const path = join(SRC, file);
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(REPO, normalize(join(dirname(path), name))).replace(/\.js$/, '.ts'));
    graph.set(relative(REPO, path), targets);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

async function lintAs(file: string, code: string): Promise<(string | null)[]> {
  const eslint = new ESLint({ cwd: REPO });
  const [result] = await eslint.lintText(code, { filePath: join(REPO, file) });
  return result!.messages.map((m) => m.ruleId);
}

describe('module layers', () => {
  it('no source file takes part in an import cycle, type-only imports included', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('lint refuses an import that climbs the layers (the spec layer importing the engine)', async () => {
    const code = "import { Engine } from '../engine/engine.js';\nexport const engine = Engine;\n";
    expect(await lintAs('src/spec/graph.ts', code)).toContain('import-x/no-restricted-paths');
  }, 60_000);

  it('lint refuses an import between peers (the gateway importing the tools layer)', async () => {
    const code = "import { createToolHub } from '../tools/hub.js';\nexport const hub = createToolHub;\n";
    expect(await lintAs('src/gateway/classify.ts', code)).toContain('import-x/no-restricted-paths');
  }, 60_000);

  it('lint accepts an import that goes down the layers (the engine importing the spec layer)', async () => {
    const code = "import { STEP_KINDS } from '../spec/model.js';\nexport const kinds = STEP_KINDS;\n";
    expect(await lintAs('src/engine/scope.ts', code)).not.toContain('import-x/no-restricted-paths');
  }, 60_000);

  it('lint keeps the API client to itself: no Node built-ins, nothing of src/ (it runs in browsers)', async () => {
    const node = "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n";
    expect(await lintAs('src/client/pages.ts', node)).toContain('@typescript-eslint/no-restricted-imports');
    const lib = "import { AgentryError } from '../lib/errors.js';\nexport const E = AgentryError;\n";
    const rules = await lintAs('src/client/pages.ts', lib);
    expect(rules).toContain('import-x/no-restricted-paths');
    const fetchClient = "import createClient from 'openapi-fetch';\nexport const c = createClient;\n";
    expect(await lintAs('src/client/pages.ts', fetchClient)).not.toContain('@typescript-eslint/no-restricted-imports');
  }, 180_000);

  it('lint refuses the API client below the CLI (the server importing src/client)', async () => {
    const code = "import { createAgentryClient } from '../client/index.js';\nexport const c = createAgentryClient;\n";
    expect(await lintAs('src/server/embed.ts', code)).toContain('import-x/no-restricted-paths');
  }, 180_000);
});
