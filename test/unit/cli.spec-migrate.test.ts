/**
 * `agentry spec migrate`: a legacy spec (no `version:`, a human/wait step's own `timeout:`,
 * `input:` on an http step) is rewritten with its comments kept, the result validates with no
 * warnings, `--check --json` reports `{ changes: [] }` / exit 0 on a current spec and the
 * changes / exit 1 on a legacy one without writing, and bad input fails with nothing written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/lib/unified-diff.js';
import { migrateSpec } from '../../src/spec/migrate.js';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

const LEGACY = `# Review a document
name: review-doc
steps:
  fetch:
    http: { url: "https://example.com/doc" }
    input: { unused: true } # never read
  approve:
    needs: [fetch]
    timeout: 2h # the reviewer's deadline
    human:
      title: "Approve {{ steps.fetch.output.status }}"
  wait_sig:
    needs: [approve]
    timeout: 1h
    wait:
      signal: go
`;

let dir: string;

beforeEach(() => {
  dir = tempDir('agentry-migrate-');
  mkdirSync(join(dir, 'workflows'));
  writeFileSync(join(dir, 'legacy.yaml'), LEGACY);
});

afterEach(() => {
  removeDir(dir);
});

describe('migrateSpec', () => {
  it('rewrites every legacy form, keeping comments', () => {
    const result = migrateSpec('legacy.yaml', LEGACY);
    expect(result.from).toBe('unversioned');
    expect(result.to).toBe('v1');
    expect(result.changes.map((c) => [c.rule, c.path, c.line])).toEqual([
      ['declare_version', 'version', 1],
      ['unused_step_input', 'steps.fetch.input', 6],
      ['step_timeout_moved', 'steps.approve.timeout', 9],
      ['step_timeout_moved', 'steps.wait_sig.timeout', 14],
    ]);
    expect(result.text).toMatch(/^version: v1\n/);
    expect(result.text).toContain('# Review a document');
    expect(result.text).toContain("timeout: 2h # the reviewer's deadline");
    expect(result.text).not.toContain('unused');
    expect(migrateSpec('x.yaml', result.text).changes).toEqual([]);
  });

  it('drops a step timeout when the human block has its own, and leaves a current spec byte for byte', () => {
    const text = 'version: v1\nname: a\nsteps:\n  ask:\n    timeout: 5m\n    human: { title: t, timeout: 1h }\n';
    const result = migrateSpec('a.yaml', text);
    expect(result.changes.map((c) => c.rule)).toEqual(['step_timeout_dropped']);
    expect(result.text).toContain('timeout: 1h');
    expect(result.text).not.toContain('5m');
    const current = 'version: v1   # kept\nname: a\nsteps:\n  s: { transform: { a: 1 } }\n';
    expect(migrateSpec('a.yaml', current)).toEqual({ from: 'v1', to: 'v1', changes: [], text: current });
  });

  it('fails at file:line for an unknown version, a non-map document and broken YAML', () => {
    expect(() => migrateSpec('w.yaml', 'name: a\nversion: v9\n')).toThrow(/w\.yaml:2:1 version: unknown spec version 'v9'/);
    expect(() => migrateSpec('w.yaml', '- a\n- b\n')).toThrow(/not a YAML map|is a YAML map/);
    expect(() => migrateSpec('w.yaml', 'name: [a\n')).toThrow(/w\.yaml:/);
  });
});

describe('unifiedDiff', () => {
  it('gives hunks with context and line ranges as diff -u does', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
    expect(unifiedDiff(before, after, { from: 'x', to: 'y' })).toBe(
      ['--- x', '+++ y', '@@ -1,5 +1,5 @@', ' a', '-b', '+B', ' c', ' d', ' e', '@@ -8,3 +8,4 @@', ' h', ' i', ' j', '+k', ''].join('\n'),
    );
    expect(unifiedDiff(before, before, { from: 'x', to: 'y' })).toBe('');
  });
});

describe('agentry spec migrate', () => {
  it('--output writes a spec that validates with no warnings and prints the diff', async () => {
    const result = await runCliInProcess(['spec', 'migrate', 'legacy.yaml', '--output', 'workflows/review-doc.yaml'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--- legacy.yaml\n+++ workflows/review-doc.yaml\n');
    expect(result.stdout).toContain('+version: v1');
    expect(result.stdout).toContain('-    timeout: 1h');
    expect(result.stdout).toContain('unversioned → v1, 4 changes migrated to workflows/review-doc.yaml');
    expect(readFileSync(join(dir, 'legacy.yaml'), 'utf8')).toBe(LEGACY);
    const lint = await runCliInProcess(['spec', 'lint', dir, '--json'], { cwd: dir });
    expect(lint.code, lint.stdout).toBe(0);
    expect((JSON.parse(lint.stdout) as { diagnostics: unknown[] }).diagnostics).toEqual([]);
  });

  it('the legacy spec in a project gives validate warnings that the migration removes', async () => {
    writeFileSync(join(dir, 'workflows/review-doc.yaml'), LEGACY);
    const before = await runCliInProcess(['spec', 'lint', dir], { cwd: dir });
    expect(before.code).toBe(1);
    const migrated = await runCliInProcess(['spec', 'migrate', 'workflows/review-doc.yaml'], { cwd: dir });
    expect(migrated.code).toBe(0);
    const after = await runCliInProcess(['spec', 'lint', dir], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
  });

  it('--check --json: exit 0 with no changes on a current spec, exit 1 listing them on a legacy one, nothing written', async () => {
    await runCliInProcess(['spec', 'migrate', 'legacy.yaml', '--output', 'current.yaml'], { cwd: dir });
    const current = await runCliInProcess(['spec', 'migrate', 'current.yaml', '--check', '--json'], { cwd: dir });
    expect(current.code).toBe(0);
    expect(JSON.parse(current.stdout)).toMatchObject({ changes: [], from: 'v1', to: 'v1', diff: '', written: null });
    const legacy = await runCliInProcess(['spec', 'migrate', 'legacy.yaml', '--check', '--json'], { cwd: dir });
    expect(legacy.code).toBe(1);
    const report = JSON.parse(legacy.stdout) as { changes: Array<{ rule: string }>; written: unknown };
    expect(report.changes.map((c) => c.rule)).toEqual(['declare_version', 'unused_step_input', 'step_timeout_moved', 'step_timeout_moved']);
    expect(report.written).toBeNull();
    expect(readFileSync(join(dir, 'legacy.yaml'), 'utf8')).toBe(LEGACY);
  });

  it('a missing file or an unknown version fails non-zero and writes nothing', async () => {
    const missing = await runCliInProcess(['spec', 'migrate', 'nope.yaml', '--output', 'out.yaml'], { cwd: dir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('spec file nope.yaml does not exist');
    writeFileSync(join(dir, 'future.yaml'), 'version: v7\nname: a\n');
    const future = await runCliInProcess(['spec', 'migrate', 'future.yaml', '--output', 'out.yaml'], { cwd: dir });
    expect(future.code).not.toBe(0);
    expect(future.stderr).toContain("future.yaml:1:1 version: unknown spec version 'v7'");
    expect(existsSync(join(dir, 'out.yaml'))).toBe(false);
  });
});
