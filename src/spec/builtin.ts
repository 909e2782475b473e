/**
 * Workflows every deployment has without a file in the project, which `agentry smoke` starts
 * after a deploy: `agentry-smoke` checks that the API, the workers and the scheduler work
 * together (a transform, a durable sleep, a wait for a signal); `agentry-smoke-review` that a
 * human task is opened and resumes its run once decided through the tasks API. Their specs are
 * kept here as text, so they ship inside the compiled package and every process — API, worker,
 * scheduler — compiles the same spec with the same hash. Their names are reserved: a project
 * workflow may not take one (`load.ts` reports it at the file's `name:` line).
 */
import { compileWorkflow } from './compile.js';
import { STEP_KINDS, type CompiledWorkflow } from './model.js';
import { parseYaml } from './source.js';

/** The built-in workflow `agentry smoke` starts. */
export const SMOKE_WORKFLOW = 'agentry-smoke';

/** The signal its `proceed` step waits for. */
export const SMOKE_SIGNAL = 'proceed';

/**
 * Input `{ nonce, a, b }`; the `compute` step's output is `{ nonce, sum: a + b, text }`. A run
 * left waiting for its signal (its client went away) ends by itself after 10 minutes, as
 * succeeded with `{ timed_out: true }` rather than failed, so that it trips no failure alert.
 */
const SMOKE_YAML = `version: v1
name: ${SMOKE_WORKFLOW}
description: Built-in post-deployment check started by \`agentry smoke\`; a transform, a durable 1 s sleep and a wait for a signal. Safe to run at any time.
input:
  schema:
    type: object
    required: [nonce, a, b]
    additionalProperties: false
    properties:
      nonce: { type: string, minLength: 1, maxLength: 64 }
      a: { type: integer, minimum: -1000000, maximum: 1000000 }
      b: { type: integer, minimum: -1000000, maximum: 1000000 }
steps:
  compute:
    transform:
      nonce: "{{ input.nonce }}"
      sum: "{{ input.a + input.b }}"
      text: "smoke {{ input.nonce }}"
  pause:
    needs: [compute]
    sleep: 1s
  ${SMOKE_SIGNAL}:
    needs: [pause]
    wait: { signal: ${SMOKE_SIGNAL}, timeout: 10m, on_timeout: continue, default: { timed_out: true } }
output:
  compute: "{{ steps.compute.output }}"
  signal: "{{ steps.${SMOKE_SIGNAL}.output }}"
`;

/** The built-in workflow of the smoke check's human task. */
export const SMOKE_REVIEW_WORKFLOW = 'agentry-smoke-review';

/** Its one step, a human task for role `reviewer`. */
export const SMOKE_REVIEW_STEP = 'review';

/**
 * Input `{ nonce }`; the task's form takes `{ nonce }` back, and the run's output is the step's
 * decision `{ review: { decision, data, comment, by } }`. A task nobody decides ends by itself
 * after 10 minutes (the run succeeded, with `{ timed_out: true }`).
 */
const SMOKE_REVIEW_YAML = `version: v1
name: ${SMOKE_REVIEW_WORKFLOW}
description: Built-in post-deployment check started by \`agentry smoke\`; one human task for role reviewer, which the check itself decides. Safe to run at any time.
input:
  schema:
    type: object
    required: [nonce]
    additionalProperties: false
    properties:
      nonce: { type: string, minLength: 1, maxLength: 64 }
steps:
  ${SMOKE_REVIEW_STEP}:
    human:
      title: "agentry smoke {{ input.nonce }}: decided by the smoke check itself"
      instructions: A post-deployment check (agentry smoke) opened this task and decides it within seconds; nothing to do.
      role: reviewer
      form:
        schema: { type: object, required: [nonce], additionalProperties: false, properties: { nonce: { type: string } } }
      timeout: 10m
      on_timeout: continue
      default: { timed_out: true }
output:
  ${SMOKE_REVIEW_STEP}: "{{ steps.${SMOKE_REVIEW_STEP}.output }}"
`;

const SOURCES: Readonly<Record<string, string>> = { [SMOKE_WORKFLOW]: SMOKE_YAML, [SMOKE_REVIEW_WORKFLOW]: SMOKE_REVIEW_YAML };

/** Names a project workflow may not take. */
export const RESERVED_WORKFLOW_NAMES: ReadonlySet<string> = new Set(Object.keys(SOURCES));

/** Whether `name` is a built-in workflow's. */
export function isBuiltinWorkflow(name: string): boolean {
  return RESERVED_WORKFLOW_NAMES.has(name);
}

let compiled: ReadonlyMap<string, CompiledWorkflow> | undefined;

/** The built-in workflows, compiled (once per process). */
export function builtinWorkflows(): ReadonlyMap<string, CompiledWorkflow> {
  compiled ??= new Map(
    Object.entries(SOURCES).map(([name, text]) => {
      const file = `<built-in ${name}>`;
      return [name, compileWorkflow(parseYaml(file, text).data, { availableKinds: new Set(STEP_KINDS) })];
    }),
  );
  return compiled;
}

/** `workflows` with the built-in ones added (a project's never holds their names: `load.ts` refuses them). */
export function withBuiltinWorkflows(workflows: ReadonlyMap<string, CompiledWorkflow>): ReadonlyMap<string, CompiledWorkflow> {
  return new Map([...workflows, ...builtinWorkflows()]);
}
