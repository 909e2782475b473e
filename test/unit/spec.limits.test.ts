/** The spec layer's limits: the parsed-expression cache is bounded by characters; a limit names the file it was hit in. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/app/project.js';
import { LIMITS } from '../../src/lib/limits.js';
import { checkExpression, expressionCacheChars } from '../../src/spec/expression.js';
import { parseYaml } from '../../src/spec/source.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('spec limits', () => {
  it('keeps the parsed-expression cache within its character budget', () => {
    const long = Array.from({ length: 450 }, (_, i) => `input.a${i}`)
      .join(' + ')
      .slice(0, LIMITS.expressionLength - 20);
    const body = long.slice(0, long.lastIndexOf(' + '));
    for (let i = 0; i < 400; i++) expect(checkExpression(`${i} + ${body}`)).toBeUndefined();
    expect(expressionCacheChars()).toBeGreaterThan(LIMITS.expressionCacheChars / 2);
    expect(expressionCacheChars()).toBeLessThanOrEqual(LIMITS.expressionCacheChars);
  });

  it('fails loading with limit_exceeded naming the file of an over-long expression', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-limits-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'workflows'));
    const expr = Array.from({ length: 3_000 }, () => '1').join('+');
    fs.writeFileSync(path.join(dir, 'workflows', 'w.yaml'), `name: w\nsteps:\n  a:\n    transform: "{{ ${expr} }}"\n`);
    await expect(loadProject(dir, { availableKinds: new Set(['transform']), env: {} })).rejects.toMatchObject({
      code: 'limit_exceeded',
      message: expect.stringMatching(/^workflows\/w\.yaml: expression is \d+ characters long/) as unknown,
    });
  });

  it('reports the repeated keys of a large map at their keys, the first 50 of them', () => {
    const keys = Array.from({ length: 9_000 }, (_, i) => `k${i % 8_000}: 1`).join('\n');
    const parsed = parseYaml('big.yaml', `m:\n${keys.replace(/^/gm, '  ')}\n`);
    expect(parsed.data).toBeUndefined();
    expect(parsed.diagnostics[0]).toMatchObject({ line: 8_002, path: 'm.k0', message: 'Map keys must be unique' });
    expect(parsed.diagnostics.at(-1)).toMatchObject({ message: 'and 950 more YAML problems' });
  });
});
