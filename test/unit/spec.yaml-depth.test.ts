/**
 * Deep YAML is refused before the parser sees it (src/spec/yaml-depth.ts): a few thousand levels
 * exhaust the `yaml` parser's stack, where V8 can abort the process. The bound over-estimates
 * and never under-estimates; the specs people write stay far below it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/spec/source.js';
import { yamlNestingBound } from '../../src/spec/yaml-depth.js';
import { AgentryError } from '../../src/lib/errors.js';

const REPO = join(import.meta.dirname, '../..');

/** Every YAML file of the examples. */
function exampleFiles(dir = join(REPO, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === 'node_modules' || e.name === '.agentry'
        ? []
        : exampleFiles(join(dir, e.name))
      : /\.ya?ml$/.test(e.name)
        ? [join(dir, e.name)]
        : [],
  );
}

describe('yamlNestingBound', () => {
  it('is at least the real depth, for flow, block and compact nesting', () => {
    expect(yamlNestingBound('a: 1', 1000)).toBeGreaterThanOrEqual(1);
    expect(yamlNestingBound('a:\n  b:\n    c: [1, {d: [2]}]\n', 1000)).toBeGreaterThanOrEqual(6);
    expect(yamlNestingBound('- - - - x\n', 1000)).toBeGreaterThanOrEqual(4);
    expect(yamlNestingBound('['.repeat(40) + ']'.repeat(40), 1000)).toBeGreaterThanOrEqual(40);
    expect(yamlNestingBound('a: [\n  [\n    [1]\n  ]\n]\n', 1000)).toBeGreaterThanOrEqual(4);
  });

  it('does not count brackets in quotes, comments, plain scalars or block scalars', () => {
    const text = [
      `a: "[[[[[[[[[["`,
      `b: '{{{{{{{{{{'`,
      "c: don't stop",
      `d: 1 # [[[[[[[[[[[[[[[[`,
      'e: |',
      '  [[[[[[[[[[[[[[[[[[[[',
      '      - - - - - - - - - - x',
      '            deeper text',
      'f: 2',
    ].join('\n');
    expect(yamlNestingBound(text, 1000)).toBeLessThanOrEqual(3);
  });

  it('stays far below the limit for every example spec', () => {
    const files = exampleFiles();
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(yamlNestingBound(readFileSync(file, 'utf8'), 1000), file).toBeLessThanOrEqual(32);
  });
});

describe('parseYaml', () => {
  it('refuses thousands of levels with limit_exceeded, without parsing them', () => {
    for (const text of [
      '['.repeat(5000) + ']'.repeat(5000),
      '- '.repeat(5000) + 'x',
      '- ['.repeat(3000) + ']'.repeat(3000),
      '{a: '.repeat(3000) + '1' + '}'.repeat(3000),
    ]) {
      let thrown: unknown;
      try {
        parseYaml('deep.yaml', text);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AgentryError);
      expect((thrown as AgentryError).code).toBe('limit_exceeded');
      expect((thrown as AgentryError).message).toContain('deep.yaml: YAML nested more than');
    }
  });
});
