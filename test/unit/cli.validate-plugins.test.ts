/**
 * `agentry validate` knows the project's plugins (its `agentry-plugins.lock`): a `plugin:` step's
 * config is checked against the step kind's schema in the plugin's manifest, each problem at its
 * file:line; an unknown plugin, step kind or tool (an agent's `tools:` entry) is an error naming
 * it; templated values are left to run time; after `agentry plugins uninstall` the workflow
 * still using the plugin is reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginManager } from '../../src/app/plugins.js';
import type { Diagnostic } from '../../src/spec/diagnostics.js';
import { REPO, removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

let dir: string;

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

const GOOD = `version: v1
name: good
steps:
  today:
    plugin:
      name: weather
      step: forecast
      config: { city: "{{ input.city }}" }
`;

// Line 7: city is a number; line 8: a field the schema does not know.
const BAD_CONFIG = `version: v1
name: bad-config
steps:
  today:
    plugin:
      name: weather
      step: forecast
      config:
        city: 42
        colour: blue
`;

const UNKNOWN = `version: v1
name: unknown
steps:
  a:
    plugin: { name: wether, step: forecast, config: { city: Oslo } }
  b:
    plugin:
      name: weather
      step: hindcast
`;

const AGENT = `version: v1
name: forecaster
model: demo
prompt: hi
tools: [weather.forecast, weather.radar]
`;

async function validate(): Promise<{ code: number | null; valid: boolean; diagnostics: Diagnostic[]; stdout: string }> {
  const result = await runCliInProcess(['validate', dir, '--json']);
  const report = JSON.parse(result.stdout) as { valid: boolean; diagnostics: Diagnostic[] };
  return { code: result.code, stdout: result.stdout, ...report };
}

beforeEach(async () => {
  dir = tempDir('agentry-validate-plugins-');
  await new PluginManager({ projectDir: dir, registry: 'http://127.0.0.1:9/' }).link(join(REPO, 'examples/plugins/weather'), () => Promise.resolve(true));
});

afterEach(() => removeDir(dir));

describe('agentry validate with plugins', () => {
  it("accepts a plugin step whose config matches the step kind's schema, templates left to run time", async () => {
    write({ 'workflows/good.yaml': GOOD });
    const report = await validate();
    expect(report.diagnostics).toEqual([]);
    expect(report.code).toBe(0);
  });

  it('leaves a templated value of a non-string field to run time, and still checks the fields beside it', async () => {
    const counter = join(dir, 'counter');
    mkdirSync(counter);
    writeFileSync(join(counter, 'index.js'), 'export default { steps: { count: (config) => config.n } };\n');
    const config = { type: 'object', properties: { n: { type: 'integer' }, unit: { enum: ['s', 'm'] } }, additionalProperties: false };
    writeFileSync(
      join(counter, 'agentry-plugin.json'),
      JSON.stringify({ name: 'counter', version: '0.1.0', mode: 'in-process', adds: { steps: [{ kind: 'count', config }] }, permissions: {} }),
    );
    await new PluginManager({ projectDir: dir, registry: 'http://127.0.0.1:9/' }).link(counter, () => Promise.resolve(true));
    write({
      'workflows/count.yaml':
        'version: v1\nname: count\nsteps:\n  c:\n    plugin:\n      name: counter\n      step: count\n      config: { n: "{{ input.n }}", unit: h }\n',
    });
    const { diagnostics } = await validate();
    expect(diagnostics).toEqual([
      expect.objectContaining({ file: 'workflows/count.yaml', line: 8, path: 'steps.c.plugin.config.unit', message: 'must be one of: s, m' }),
    ]);
  });

  it('reports each config problem against the manifest schema at its file:line', async () => {
    write({ 'workflows/bad-config.yaml': BAD_CONFIG });
    const report = await validate();
    expect(report.code).toBe(2);
    expect(report.valid).toBe(false);
    expect(report.diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'workflows/bad-config.yaml', line: 9, path: 'steps.today.plugin.config.city', message: 'must be string' }),
        expect.objectContaining({ file: 'workflows/bad-config.yaml', line: 10, message: expect.stringContaining("unknown field 'colour'") }),
      ]),
    );
    const text = await runCliInProcess(['validate', dir]);
    expect(text.stdout).toContain('workflows/bad-config.yaml:9');
  });

  it('names an unknown plugin, an unknown step kind and an unknown plugin tool', async () => {
    write({ 'workflows/unknown.yaml': UNKNOWN, 'agents/forecaster.yaml': AGENT });
    const { diagnostics, code } = await validate();
    expect(code).toBe(2);
    expect(diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'workflows/unknown.yaml',
          line: 5,
          message: expect.stringMatching(/unknown plugin 'wether' \(installed: weather;.*did you mean 'weather'/),
        }),
        expect.objectContaining({ file: 'workflows/unknown.yaml', line: 9, message: "plugin 'weather' adds no step kind 'hindcast' (it adds forecast)" }),
        expect.objectContaining({ file: 'agents/forecaster.yaml', message: "plugin 'weather' adds no tool 'radar'", path: 'tools[1]' }),
      ]),
    );
    expect(diagnostics.filter((d) => d.path === 'tools[0]')).toEqual([]);
  });

  it('reports a workflow still using a plugin after agentry plugins uninstall', async () => {
    write({ 'workflows/good.yaml': GOOD });
    expect((await validate()).code).toBe(0);
    const uninstall = await runCliInProcess(['plugins', 'uninstall', 'weather', '--dir', dir]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    const report = await validate();
    expect(report.code).toBe(2);
    expect(report.diagnostics).toEqual([
      expect.objectContaining({ file: 'workflows/good.yaml', line: 6, message: expect.stringContaining("unknown plugin 'weather' (no plugin is installed") }),
    ]);
  });
});
