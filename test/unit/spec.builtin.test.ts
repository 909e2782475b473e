/**
 * The built-in workflows (`agentry-smoke` and `agentry-smoke-review`, started by `agentry smoke`): their names are reserved
 * to a project, every process's engine gets them, and the API marks them. Also the reading of
 * `/metrics` text the smoke check compares counters with, and its exit code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workflowDto } from '../../src/app/dto/workflows.js';
import { loadProject } from '../../src/app/project.js';
import { AVAILABLE_KINDS } from '../../src/app/bootstrap.js';
import {
  BUILTIN_STEP_KINDS,
  builtinWorkflows,
  projectWorkflows,
  SMOKE_REVIEW_STEP,
  SMOKE_REVIEW_WORKFLOW,
  SMOKE_SIGNAL,
  SMOKE_WORKFLOW,
  withBuiltinWorkflows,
} from '../../src/spec/builtin.js';
import { compileWorkflow } from '../../src/spec/compile.js';
import { parseYaml } from '../../src/spec/source.js';
import { formatDiagnostic } from '../../src/spec/index.js';
import { parseSamples, sampleSum } from '../../src/cli/prometheus-text.js';
import { smokeExitCode, type CheckResult, type SmokeReport } from '../../src/cli/smoke.js';

const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-builtin-'));
  dirs.push(dir);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('the built-in smoke workflows', () => {
  it('is refused as the name of a project workflow, at the file and line of its name, and the rest of the project loads', async () => {
    const dir = project({
      'workflows/mine.yaml': `# a user's copy\ndescription: mine\nname: ${SMOKE_WORKFLOW}\nsteps:\n  a: { transform: { n: 1 } }\n`,
      'workflows/review.yaml': `name: ${SMOKE_REVIEW_WORKFLOW}\nsteps:\n  a: { transform: { n: 1 } }\n`,
      'workflows/ok.yaml': 'name: ok\nsteps:\n  a: { transform: { n: 1 } }\n',
    });
    const { project: loaded, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE_KINDS, env: {} });
    const errors = diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors).toEqual([
      `workflows/mine.yaml:3:7 name: workflow name '${SMOKE_WORKFLOW}' is reserved for a built-in workflow of Agentry; choose another name`,
      `workflows/review.yaml:1:7 name: workflow name '${SMOKE_REVIEW_WORKFLOW}' is reserved for a built-in workflow of Agentry; choose another name`,
    ]);
    expect([...loaded.workflows.keys()]).toEqual(['ok']);
  });

  it('is added to the workflows of every engine (a project never holds it) and the API marks it built-in', () => {
    const smoke = builtinWorkflows().get(SMOKE_WORKFLOW)!;
    expect(smoke.order.map((id) => `${id}:${smoke.steps.get(id)!.kind}`)).toEqual(['compute:transform', 'pause:sleep', `${SMOKE_SIGNAL}:wait`]);
    const review = builtinWorkflows().get(SMOKE_REVIEW_WORKFLOW)!;
    expect(review.order.map((id) => `${id}:${review.steps.get(id)!.kind}`)).toEqual([`${SMOKE_REVIEW_STEP}:human`]);
    expect(review.steps.get(SMOKE_REVIEW_STEP)!.config).toMatchObject({ role: 'reviewer', timeout: '10m', on_timeout: 'continue' });
    const catalog = withBuiltinWorkflows(new Map());
    expect([...catalog.keys()]).toEqual([SMOKE_WORKFLOW, SMOKE_REVIEW_WORKFLOW]);
    expect(workflowDto(smoke)).toMatchObject({ name: SMOKE_WORKFLOW, builtin: true, file: null });
    expect(workflowDto(review)).toMatchObject({ name: SMOKE_REVIEW_WORKFLOW, builtin: true, file: null });
  });

  it('names the step kinds the readiness check needs for them, which are the compiled specs’ kinds', () => {
    const used = new Set([...builtinWorkflows().values()].flatMap((wf) => [...wf.steps.values()].map((step) => step.kind)));
    expect([...BUILTIN_STEP_KINDS].sort()).toEqual([...used].sort());
  });

  it('sits beside the project’s workflows as one map, each built-in one the same compiled workflow wherever it is read', () => {
    const mine = compileWorkflow(parseYaml('mine.yaml', 'name: mine\nsteps:\n  a: { transform: { n: 1 } }\n').data, { availableKinds: AVAILABLE_KINDS });
    const catalog = withBuiltinWorkflows(new Map([['mine', mine]]));
    expect(catalog.size).toBe(3);
    expect([...catalog.keys()]).toEqual(['mine', SMOKE_WORKFLOW, SMOKE_REVIEW_WORKFLOW]);
    expect(catalog.has(SMOKE_WORKFLOW) && catalog.has('mine') && !catalog.has('other')).toBe(true);
    expect(catalog.get('other')).toBeUndefined();
    expect(catalog.get('mine')).toBe(mine);
    const smoke = catalog.get(SMOKE_WORKFLOW)!;
    expect(smoke.name).toBe(SMOKE_WORKFLOW);
    expect(builtinWorkflows().get(SMOKE_WORKFLOW)).toBe(smoke);
    expect([...catalog.values()].map((wf) => wf.name)).toEqual(['mine', SMOKE_WORKFLOW, SMOKE_REVIEW_WORKFLOW]);
    expect(new Map(catalog).get(SMOKE_WORKFLOW)).toBe(smoke);
    const seen: string[] = [];
    catalog.forEach((wf, name) => seen.push(`${name}=${wf.name}`));
    expect(seen).toEqual(['mine=mine', `${SMOKE_WORKFLOW}=${SMOKE_WORKFLOW}`, `${SMOKE_REVIEW_WORKFLOW}=${SMOKE_REVIEW_WORKFLOW}`]);
    // What start-up iterates leaves the built-in ones out, lazy map or plain.
    expect([...projectWorkflows(catalog)]).toEqual([mine]);
    expect([...projectWorkflows(new Map(catalog))]).toEqual([mine]);
  });
});

describe('reading /metrics for agentry smoke', () => {
  it('sums the samples of a family whose labels include the ones asked for, whatever their order and escapes', () => {
    const samples = parseSamples(
      [
        '# HELP agentry_runs_started_total Runs created',
        '# TYPE agentry_runs_started_total counter',
        'agentry_runs_started_total{workflow="agentry-smoke"} 3',
        'agentry_runs_started_total{workflow="other"} 5',
        'agentry_runs_finished_total{status="cancelled",workflow="agentry-smoke"} 2',
        'agentry_runs_finished_total{workflow="agentry-smoke",status="succeeded"} 1',
        'agentry_runs_finished_total{workflow="quo\\"ted",status="cancelled"} 7',
        'agentry_build_info{version="1.0"} 1',
      ].join('\n'),
    );
    expect(sampleSum(samples, 'agentry_runs_started_total', { workflow: 'agentry-smoke' })).toBe(3);
    expect(sampleSum(samples, 'agentry_runs_started_total')).toBe(8);
    expect(sampleSum(samples, 'agentry_runs_finished_total', { workflow: 'agentry-smoke', status: 'cancelled' })).toBe(2);
    expect(sampleSum(samples, 'agentry_runs_finished_total', { workflow: 'quo"ted' })).toBe(7);
    expect(sampleSum(samples, 'agentry_missing_total')).toBe(0);
  });

  it('exits 0 when no check failed, else with the exit code of the first failure’s error (1 without one)', () => {
    const report = (checks: Array<Pick<CheckResult, 'status' | 'code'>>): SmokeReport => ({
      url: 'http://x',
      ok: !checks.some((c) => c.status === 'fail'),
      duration_ms: 1,
      checks: checks.map((c) => ({ name: 'run', detail: '', duration_ms: 1, ...c })),
      summary: { pass: 0, warn: 0, skip: 0, fail: 0 },
    });
    expect(smokeExitCode(report([{ status: 'pass' }, { status: 'warn' }, { status: 'skip' }]))).toBe(0);
    expect(smokeExitCode(report([{ status: 'pass' }, { status: 'fail', code: 'forbidden' }, { status: 'fail', code: 'not_ready' }]))).toBe(2);
    expect(
      smokeExitCode(
        report([
          { status: 'fail', code: 'not_ready' },
          { status: 'fail', code: 'forbidden' },
        ]),
      ),
    ).toBe(1);
    expect(smokeExitCode(report([{ status: 'fail' }]))).toBe(1);
  });
});
