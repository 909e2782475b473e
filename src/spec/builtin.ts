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
import { STEP_KINDS, type CompiledWorkflow, type StepKind } from './model.js';
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

/**
 * The step kinds the built-in workflows use, known without compiling them: what a process's
 * readiness checks it has executors for (a unit test keeps this list equal to the compiled specs').
 */
export const BUILTIN_STEP_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['transform', 'sleep', 'wait', 'human']);

const compiled = new Map<string, CompiledWorkflow>();

/** The built-in workflow `name`, compiled on its first use (once per process); undefined for another name. */
function builtinWorkflow(name: string): CompiledWorkflow | undefined {
  const text = SOURCES[name];
  if (text === undefined) return undefined;
  let wf = compiled.get(name);
  if (wf === undefined) {
    wf = compileWorkflow(parseYaml(`<built-in ${name}>`, text).data, { availableKinds: new Set(STEP_KINDS) });
    compiled.set(name, wf);
  }
  return wf;
}

/** The built-in workflows, compiled. */
export function builtinWorkflows(): ReadonlyMap<string, CompiledWorkflow> {
  return new Map([...RESERVED_WORKFLOW_NAMES].map((name) => [name, builtinWorkflow(name)!]));
}

/**
 * A project's workflows and the built-in ones, which are compiled on their first use (a run of
 * one, a listing): a process that never starts one does not pay for compiling them.
 * `has`, `size` and `keys` answer from their names; `get` compiles one; iterating the values
 * compiles them all. What runs at start-up iterates `projectWorkflows` instead.
 */
class WorkflowsWithBuiltins implements ReadonlyMap<string, CompiledWorkflow> {
  constructor(readonly project: ReadonlyMap<string, CompiledWorkflow>) {}

  get size(): number {
    return this.project.size + RESERVED_WORKFLOW_NAMES.size;
  }

  get(name: string): CompiledWorkflow | undefined {
    return this.project.get(name) ?? builtinWorkflow(name);
  }

  has(name: string): boolean {
    return this.project.has(name) || RESERVED_WORKFLOW_NAMES.has(name);
  }

  *keys(): MapIterator<string> {
    yield* this.project.keys();
    yield* RESERVED_WORKFLOW_NAMES;
  }

  *entries(): MapIterator<[string, CompiledWorkflow]> {
    yield* this.project.entries();
    for (const name of RESERVED_WORKFLOW_NAMES) yield [name, builtinWorkflow(name)!];
  }

  *values(): MapIterator<CompiledWorkflow> {
    for (const [, wf] of this.entries()) yield wf;
  }

  [Symbol.iterator](): MapIterator<[string, CompiledWorkflow]> {
    return this.entries();
  }

  forEach(callback: (value: CompiledWorkflow, key: string, map: ReadonlyMap<string, CompiledWorkflow>) => void, thisArg?: unknown): void {
    for (const [name, wf] of this.entries()) callback.call(thisArg, wf, name, this);
  }
}

/** `workflows` with the built-in ones added, compiled on first use (a project's never holds their names: `load.ts` refuses them). */
export function withBuiltinWorkflows(workflows: ReadonlyMap<string, CompiledWorkflow>): ReadonlyMap<string, CompiledWorkflow> {
  return new WorkflowsWithBuiltins(workflows);
}

/**
 * The workflows of `workflows` but the built-in ones, without compiling those: for what cannot
 * concern a built-in workflow (schedules, retention, secrets, agent steps: they declare none).
 */
export function projectWorkflows(workflows: ReadonlyMap<string, CompiledWorkflow>): Iterable<CompiledWorkflow> {
  if (workflows instanceof WorkflowsWithBuiltins) return workflows.project.values();
  return [...workflows.values()].filter((wf) => !isBuiltinWorkflow(wf.name));
}
