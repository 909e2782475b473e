import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/app/project.js';
import { compileWorkflow, formatDiagnostic, SpecError, type Diagnostic, type StepKind } from '../../src/spec/index.js';

const AVAILABLE: ReadonlySet<StepKind> = new Set(['transform', 'http', 'sleep']);
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A project directory holding `files` (path → lines); returns its path. */
function project(files: Record<string, string[]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-spec-'));
  dirs.push(dir);
  for (const [file, lines] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), `${lines.join('\n')}\n`);
  }
  return dir;
}

async function diagnosticsOf(files: Record<string, string[]>, env: NodeJS.ProcessEnv = {}): Promise<Diagnostic[]> {
  const { diagnostics } = await loadProject(project(files), { availableKinds: AVAILABLE, env });
  return diagnostics;
}

/** The only error, as `file:line:column path: message`-like parts. */
async function onlyError(files: Record<string, string[]>): Promise<Pick<Diagnostic, 'file' | 'line' | 'path' | 'message'>> {
  const errors = (await diagnosticsOf(files)).filter((d) => d.severity === 'error');
  expect(errors.map(formatDiagnostic)).toHaveLength(1);
  const [error] = errors;
  return { file: error!.file, line: error!.line, path: error!.path, message: error!.message };
}

const header = ['name: demo', 'steps:'];

describe('loadProject', () => {
  it('loads a valid project with compiled workflows, defaults and no diagnostics', async () => {
    const dir = project({
      'agentry.yaml': ['engine: { concurrency: 4 }', 'profiles:', '  prod: { engine: { lease_ttl: 1m } }'],
      'workflows/demo.yaml': [
        'name: demo',
        'env: { TOKEN: { secret: true } }',
        'defaults: { retry: { max_attempts: 3, initial: 2s }, timeout: 2m }',
        'steps:',
        '  fetch:',
        '    http: { url: "https://example.com/{{ input.n }}", headers: { Authorization: "Bearer {{ env.TOKEN }}" } }',
        '  shape:',
        '    transform: { total: "{{ steps.fetch.output.body.count * 2 }}" }',
        '    retry: { max_attempts: 5 }',
        '    timeout: 10s',
        '  wait:',
        '    needs: [fetch]',
        '    when: "steps.shape.output.total > 3"',
        '    sleep: 1s',
      ],
      'workflows/other.yml': ['name: other', 'steps: { only: { transform: 1 } }'],
    });
    const { project: loaded, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE, env: { AGENTRY_PROFILE: 'prod' } });
    expect(diagnostics).toEqual([]);
    expect(loaded.files).toEqual(['agentry.yaml', 'workflows/demo.yaml', 'workflows/other.yml']);
    expect(loaded.settings.engine).toEqual({ concurrency: 4, leaseTtlMs: 60_000, pollIntervalMs: 1_000 });
    expect(loaded.settings.profile).toBe('prod');
    expect([...loaded.workflows.keys()]).toEqual(['demo', 'other']);
    const wf = loaded.workflows.get('demo')!;
    expect(wf.file).toBe('workflows/demo.yaml');
    expect(wf.env).toEqual(['TOKEN']);
    expect(wf.secrets).toEqual(['TOKEN']);
    expect(wf.order).toEqual(['fetch', 'shape', 'wait']);
    expect(wf.steps.get('wait')!.needs).toEqual(['fetch', 'shape']);
    expect(wf.steps.get('shape')!.retry).toEqual({ maxAttempts: 5, backoff: 'exponential', initialMs: 2_000, maxMs: 60_000, jitter: true });
    expect(wf.steps.get('shape')!.timeoutMs).toBe(10_000);
    expect(wf.steps.get('fetch')!.timeoutMs).toBe(120_000);
    expect(wf.steps.get('wait')!.config).toBe('1s');
  });

  it('applies settings defaults when there is no agentry.yaml', async () => {
    const { project: loaded, diagnostics } = await loadProject(project({}), { availableKinds: AVAILABLE, env: {} });
    expect(diagnostics).toEqual([]);
    expect(loaded.settings.engine).toEqual({ concurrency: 10, leaseTtlMs: 30_000, pollIntervalMs: 1_000 });
    expect(loaded.gateway).toBeUndefined();
    expect(Object.isFrozen(loaded.settings)).toBe(true);
  });

  it('reports an AGENTRY_PROFILE that agentry.yaml does not define', async () => {
    const diagnostics = await diagnosticsOf({ 'agentry.yaml': ['profiles:', '  prod: {}'] }, { AGENTRY_PROFILE: 'prd' });
    expect(diagnostics).toMatchObject([{ file: 'agentry.yaml', line: 1, path: 'profiles', message: expect.stringContaining("did you mean 'prod'") }]);
  });

  it('leaves out a file with errors and still loads the others', async () => {
    const dir = project({
      'workflows/a.yaml': ['name: a', 'steps: { x: { transform: 1 } }'],
      'workflows/b.yaml': ['name: b', 'steps: { x: { transform: 1, bogus: 2 } }'],
    });
    const { project: loaded, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE });
    expect([...loaded.workflows.keys()]).toEqual(['a']);
    expect(diagnostics.map((d) => d.file)).toEqual(['workflows/b.yaml']);
  });

  it('rejects YAML syntax errors with their line', async () => {
    expect(await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: [1, 2', '  b: {}'] })).toMatchObject({
      file: 'workflows/w.yaml',
      line: 5,
    });
  });

  it('rejects duplicate YAML keys at the repeated key', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a: { transform: 1 }', '  a: { transform: 2 }'] });
    expect(error).toMatchObject({ file: 'workflows/w.yaml', line: 4, path: 'steps.a', message: expect.stringContaining('unique') });
  });

  it('rejects an unknown field at its key and suggests the near miss', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: 1', '    retires: { max_attempts: 2 }'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 5, path: 'steps.a.retires', message: "unknown field 'retires' (did you mean 'retry'?)" });
  });

  it('rejects a missing required field at the key of its parent', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    http:', '      method: POST'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 4, path: 'steps.a.http', message: "missing required field 'url'" });
  });

  it('rejects a value of the wrong type at the value', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    http:', '      url: 42'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 5, path: 'steps.a.http.url', message: 'must be string' });
  });

  it('rejects a version other than v1 naming the field', async () => {
    const error = await onlyError({ 'workflows/w.yaml': ['version: v2', ...header, '  a: { transform: 1 }'] });
    expect(error).toMatchObject({ file: 'workflows/w.yaml', line: 1, path: 'version', message: expect.stringContaining("'v1'") });
  });

  it('rejects bad durations', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    sleep: 5 minutes'] });
    expect(error).toMatchObject({ file: 'workflows/w.yaml', line: 4, path: 'steps.a.sleep' });
    const timeout = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: 1', '    timeout: 1x'] });
    expect(timeout).toMatchObject({ line: 5, path: 'steps.a.timeout', message: expect.stringContaining('must be a duration') });
  });

  it('rejects a step without a kind', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    description: nothing to do'] });
    expect(error).toMatchObject({ file: 'workflows/w.yaml', line: 3, path: 'steps.a', message: expect.stringContaining('has no kind') });
  });

  it('rejects a step with more than one kind at the second kind', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: 1', '    sleep: 1s'] });
    expect(error).toMatchObject({ line: 5, path: 'steps.a.sleep', message: expect.stringContaining('more than one kind (transform, sleep)') });
  });

  it('rejects a step kind this version cannot run', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    agent: classifier'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 4, path: 'steps.a.agent', message: "step kind 'agent' is not available in this version" });
  });

  it('rejects an unknown step in needs', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  fetch: { transform: 1 }', '  b:', '    needs: [fetch, fecth]', '    transform: 1'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 5, path: 'steps.b.needs[1]', message: "unknown step 'fecth' (did you mean 'fetch'?)" });
  });

  it('rejects an unknown step read by a template', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform:', '      x: "{{ steps.nope.output }}"'] });
    expect(error).toMatchObject({ line: 5, path: 'steps.a.transform.x', message: expect.stringContaining("unknown step 'nope'") });
  });

  it('rejects an unknown step read by when', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    when: steps.nope.output > 1', '    transform: 1'] });
    expect(error).toMatchObject({ line: 4, path: 'steps.a.when', message: expect.stringContaining("unknown step 'nope'") });
  });

  it('rejects a step that depends on itself', async () => {
    const error = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    needs: [a]', '    transform: 1'] });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 4, path: 'steps.a.needs[0]', message: "step 'a' cannot depend on itself" });
  });

  it('rejects a dependency cycle naming its steps, where the first edge is declared', async () => {
    const error = await onlyError({
      'workflows/w.yaml': [
        ...header,
        '  a:',
        '    needs: [c]',
        '    transform: 1',
        '  b:',
        '    transform: "{{ steps.a.output }}"',
        '  c:',
        '    needs: [b]',
        '    transform: 1',
      ],
    });
    expect(error).toEqual({ file: 'workflows/w.yaml', line: 4, path: 'steps.a.needs[0]', message: 'dependency cycle: a needs c, c needs b, b needs a' });
  });

  it('rejects CEL syntax errors in templates and when with the CEL message', async () => {
    const template = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: "{{ input.x + }}"'] });
    expect(template).toMatchObject({
      line: 4,
      path: 'steps.a.transform',
      message: expect.stringMatching(/^invalid expression 'input.x \+': Unexpected token/),
    });
    const when = await onlyError({ 'workflows/w.yaml': [...header, '  a:', '    transform: 1', '    when: input.x ==== 1'] });
    expect(when).toMatchObject({ line: 5, path: 'steps.a.when', message: expect.stringContaining('invalid expression') });
  });

  it('rejects env variables that the workflow does not declare', async () => {
    const error = await onlyError({ 'workflows/w.yaml': ['name: demo', 'env: { API_TOKEN: {} }', 'steps:', '  a:', '    transform: "{{ env.API_TOKN }}"'] });
    expect(error).toEqual({
      file: 'workflows/w.yaml',
      line: 5,
      path: 'steps.a.transform',
      message: "env.API_TOKN is not declared under env: (did you mean 'API_TOKEN'?)",
    });
  });

  it('rejects an input schema that is not a valid JSON Schema', async () => {
    const error = await onlyError({
      'workflows/w.yaml': ['name: demo', 'input:', '  schema:', '    type: strng', ...header.slice(1), '  a: { transform: 1 }'],
    });
    expect(error).toMatchObject({ line: 4, path: 'input.schema.type', message: expect.stringContaining('invalid JSON Schema') });
  });

  it('rejects an input schema that passes the meta-schema but does not compile (a $ref that resolves nowhere)', async () => {
    const error = await onlyError({
      'workflows/w.yaml': ['name: demo', 'input:', '  schema:', "    $ref: '#/definitions/missing'", ...header.slice(1), '  a: { transform: 1 }'],
    });
    expect(error).toMatchObject({ path: 'input.schema', message: expect.stringContaining('invalid JSON Schema') });
    expect(error?.message).toContain('#/definitions/missing');
  });

  it('rejects a workflow name defined in two files, in the later file', async () => {
    const diagnostics = await diagnosticsOf({
      'workflows/a.yaml': [...header, '  x: { transform: 1 }'],
      'workflows/b.yaml': ['description: again', ...header, '  x: { transform: 1 }'],
    });
    expect(diagnostics).toEqual([
      { file: 'workflows/b.yaml', line: 2, column: 7, path: 'name', message: "workflow 'demo' is already defined in workflows/a.yaml", severity: 'error' },
    ]);
  });

  it('rejects unknown sub-workflows and sub-workflows that call each other without end', async () => {
    const dir = project({
      'workflows/a.yaml': ['name: a', 'steps:', '  x: { workflow: b }'],
      'workflows/b.yaml': ['name: b', 'steps:', '  y: { workflow: a }'],
      'workflows/c.yaml': ['name: c', 'steps:', '  z: { workflow: nope }'],
      'workflows/d.yaml': ['name: d', 'steps:', '  w: { wait: { signal: go } }', '  h: { human: { title: Check } }'],
    });
    const { diagnostics, project: loaded } = await loadProject(dir, { availableKinds: new Set([...AVAILABLE, 'workflow', 'wait', 'human']), env: {} });
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'workflows/a.yaml:3:18 steps.x.workflow: sub-workflows call each other without end: a → b → a',
      'workflows/b.yaml:3:18 steps.y.workflow: sub-workflows call each other without end: b → a → b',
      "workflows/c.yaml:3:18 steps.z.workflow: unknown workflow 'nope'",
    ]);
    expect([...loaded.workflows.keys()]).toEqual(['d']);
  });

  it('rejects for_each on a wait step and warns about a step timeout on human and wait steps', async () => {
    const diagnostics = await loadProject(
      project({
        'workflows/w.yaml': [
          'name: w',
          'steps:',
          '  each: { for_each: { from: input.items }, wait: { signal: go } }',
          '  ask: { timeout: 1m, human: { title: Check } }',
        ],
      }),
      { availableKinds: new Set([...AVAILABLE, 'wait', 'human']), env: {} },
    );
    expect(diagnostics.diagnostics.map((d) => [d.severity, d.path, d.message])).toEqual([
      ['error', 'steps.each.for_each', 'a wait step cannot use for_each: a signal is delivered once per run'],
      ['warning', 'steps.ask.timeout', "a human step's deadline is human.timeout; this timeout has no effect"],
    ]);
  });

  it('rejects a scheduled input that does not match the input schema', async () => {
    const error = await onlyError({
      'workflows/w.yaml': [
        'name: nightly',
        'input: { schema: { type: object, required: [day], properties: { day: { type: string } } } }',
        'schedule:',
        '  cron: "0 3 * * *"',
        '  input: { day: 7 }',
        'steps:',
        '  a: { transform: 1 }',
      ],
    });
    expect(error).toMatchObject({ file: 'workflows/w.yaml', line: 5, path: 'schedule.input' });
    expect(error.message).toContain('/day must be string');
  });

  it('rejects agent and tool names defined twice and tool servers without exactly one transport', async () => {
    const diagnostics = await diagnosticsOf({
      'agents/a.yaml': ['name: helper', 'model: small'],
      'agents/b.yaml': ['name: helper', 'model: small'],
      'tools/crm.yaml': ['name: crm', 'command: crm-mcp', 'url: http://localhost:9000'],
    });
    expect(diagnostics.map((d) => [d.file, d.line, d.path])).toEqual([
      ['agents/b.yaml', 1, 'name'],
      ['tools/crm.yaml', 1, ''],
    ]);
  });

  it('checks an agent memory: a thread is required and max_messages is 1 to 1000', async () => {
    const diagnostics = await diagnosticsOf({
      'agents/ok.yaml': ['name: ok', 'model: small', 'memory: { thread: "{{ input.customer }}", max_messages: 1000 }'],
      'agents/big.yaml': ['name: big', 'model: small', 'memory:', '  thread: x', '  max_messages: 1001'],
      'agents/zero.yaml': ['name: zero', 'model: small', 'memory: { thread: x, max_messages: 0 }'],
      'agents/none.yaml': ['name: none', 'model: small', 'memory: { max_messages: 5 }'],
    });
    expect(diagnostics.filter((d) => d.severity === 'error').map((d) => [d.file, d.path])).toEqual(
      expect.arrayContaining([
        ['agents/big.yaml', 'memory.max_messages'],
        ['agents/zero.yaml', 'memory.max_messages'],
        ['agents/none.yaml', 'memory'],
      ]),
    );
    expect(diagnostics.filter((d) => d.file === 'agents/ok.yaml')).toEqual([]);
  });

  it('formats a diagnostic as file:line:column path: message', () => {
    const d: Diagnostic = { file: 'workflows/demo.yaml', line: 12, column: 5, path: 'steps.fetch.http.url', message: 'must be string', severity: 'error' };
    expect(formatDiagnostic(d)).toBe('workflows/demo.yaml:12:5 steps.fetch.http.url: must be string');
  });
});

describe('compileWorkflow', () => {
  const spec = {
    name: 'plain',
    steps: {
      c: { transform: '{{ steps.a.output + steps.b.output }}' },
      a: { transform: 1 },
      b: { needs: ['a'], transform: 2 },
      d: { transform: 3 },
    },
  };

  it('orders steps topologically with ties in declaration order', () => {
    const wf = compileWorkflow(spec, { availableKinds: AVAILABLE });
    expect(wf.order).toEqual(['a', 'b', 'c', 'd']);
    expect(wf.steps.get('c')!.needs).toEqual(['a', 'b']);
    expect(wf.file).toBeUndefined();
  });

  it('hashes the spec independent of key order', () => {
    const reordered = { steps: { d: spec.steps.d, b: spec.steps.b, a: spec.steps.a, c: spec.steps.c }, name: 'plain' };
    const first = compileWorkflow(spec, { availableKinds: AVAILABLE });
    const second = compileWorkflow(reordered, { availableKinds: AVAILABLE });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second.hash).toBe(first.hash);
    expect(compileWorkflow({ ...spec, description: 'x' }, { availableKinds: AVAILABLE }).hash).not.toBe(first.hash);
  });

  it('throws a SpecError with code spec_invalid listing every diagnostic', () => {
    let caught: unknown;
    try {
      compileWorkflow(
        { name: 'x', steps: { a: { transform: '{{ steps.b.output }}' }, b: { needs: ['a'], transform: 1 } } },
        { file: 'snap', availableKinds: AVAILABLE },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SpecError);
    const error = caught as SpecError;
    expect(error.code).toBe('spec_invalid');
    expect(error.diagnostics).toEqual([
      { file: 'snap', line: 0, column: 0, path: 'steps.a.transform', message: 'dependency cycle: a needs b, b needs a', severity: 'error' },
    ]);
    expect(error.details).toEqual({ diagnostics: error.diagnostics });
    expect(error.message).toBe('snap steps.a.transform: dependency cycle: a needs b, b needs a');
  });

  it('rejects item outside a for_each step and accepts it inside one', () => {
    expect(() => compileWorkflow({ name: 'x', steps: { a: { transform: '{{ item }}' } } }, { availableKinds: AVAILABLE })).toThrow(/only available/);
    const wf = compileWorkflow(
      { name: 'x', steps: { a: { transform: [1, 2] }, b: { for_each: { from: 'steps.a.output' }, transform: '{{ item * index }}' } } },
      { availableKinds: AVAILABLE },
    );
    expect(wf.steps.get('b')!.needs).toEqual(['a']);
  });

  it('rejects unknown variables and braces around when', () => {
    expect(() => compileWorkflow({ name: 'x', steps: { a: { transform: '{{ inptu.x }}' } } }, { availableKinds: AVAILABLE })).toThrow(
      "unknown variable 'inptu' in 'inptu.x' (did you mean 'input'?)",
    );
    expect(() => compileWorkflow({ name: 'x', steps: { a: { when: '{{ true }}', transform: 1 } } }, { availableKinds: AVAILABLE })).toThrow(
      /without \{\{ \}\}/,
    );
  });
});
