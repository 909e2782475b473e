/**
 * Artifact names and patterns (`lib/artifact-path.ts`), and the checks of `artifacts:`,
 * `http.save_body_as` and `write_artifacts` in a workflow, reported with file:line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/app/project.js';
import { artifactPatternProblem, matchesArtifactPatterns, normalizeArtifactName } from '../../src/lib/artifact-path.js';
import { formatDiagnostic, type StepKind } from '../../src/spec/index.js';

describe('artifact names', () => {
  it('normalises ./ and repeated slashes, and refuses what could leave the run folder', () => {
    expect(normalizeArtifactName('./out//report.md')).toEqual({ name: 'out/report.md' });
    expect(normalizeArtifactName('.hidden/..data')).toEqual({ name: '.hidden/..data' });
    for (const bad of ['../x', 'a/../b', '/etc/passwd', 'a\\b', 'C:/x', '', '.', 'a b', 'x\0y', 'a/'.repeat(9) + 'b', 'x'.repeat(256)]) {
      expect(normalizeArtifactName(bad), JSON.stringify(bad)).toHaveProperty('problem');
    }
  });

  it('matches * within a segment, ? one character and ** any segments', () => {
    const patterns = ['out/report.md', 'data/*.json', 'raw/**', 'logs/day-?.txt'];
    for (const name of ['out/report.md', 'data/a.json', 'raw/x', 'raw/a/b/c.bin', 'logs/day-1.txt'])
      expect(matchesArtifactPatterns(name, patterns), name).toBe(true);
    for (const name of ['out/report.md.html', 'data/sub/a.json', 'data/a.jsonx', 'rawx/a', 'logs/day-10.txt', 'report.md']) {
      expect(matchesArtifactPatterns(name, patterns), name).toBe(false);
    }
    expect(artifactPatternProblem('a/**/b')).toBeUndefined();
    expect(artifactPatternProblem('a/x**')).toMatch(/whole path segment/);
    expect(artifactPatternProblem('../*.md')).toMatch(/'\.\.'/);
  });
});

describe('artifacts in workflows/*.yaml', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const AVAILABLE: ReadonlySet<StepKind> = new Set(['transform', 'http', 'agent']);

  async function errorsOf(text: string): Promise<string[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-artifacts-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'workflows'));
    fs.writeFileSync(path.join(dir, 'workflows', 'w.yaml'), text);
    const { diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE, env: {} });
    return diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }

  it('reports a bad pattern, an undeclared or climbing save_body_as and a misplaced write_artifacts with file:line', async () => {
    const errors = await errorsOf(
      [
        'name: w',
        'artifacts:',
        '  - out/report.md',
        '  - ../escape/*.md',
        'steps:',
        '  a:',
        '    http: { url: "https://example.com", save_body_as: other.txt }',
        '  b:',
        '    http: { url: "https://example.com", save_body_as: out/../../x.md }',
        '  c:',
        '    transform: 1',
        '    write_artifacts: true',
        '  d:',
        '    http: { url: "https://example.com", save_body_as: "out/{{ input.day }}.md" }',
        '',
      ].join('\n'),
    );
    expect(errors).toEqual([
      expect.stringMatching(/^workflows\/w\.yaml:4:.*artifacts\[1\].*'\.\.'/),
      expect.stringMatching(/^workflows\/w\.yaml:7:.*steps\.a\.http\.save_body_as.*'other\.txt' is not one of the workflow's artifacts/),
      expect.stringMatching(/^workflows\/w\.yaml:9:.*steps\.b\.http\.save_body_as.*'\.\.'/),
      expect.stringMatching(/^workflows\/w\.yaml:12:.*steps\.c\.write_artifacts.*only used by agent steps/),
    ]);
  });

  it('needs artifacts: for save_body_as', async () => {
    const errors = await errorsOf('name: w\nsteps:\n  a:\n    http: { url: "https://example.com", save_body_as: out/r.md }\n');
    expect(errors).toEqual([expect.stringMatching(/^workflows\/w\.yaml:4:.*save_body_as 'out\/r\.md' is not declared: add it to the workflow's artifacts:/)]);
  });
});
