/**
 * Workflows every deployment has without a file in the project: today one, `agentry-smoke`,
 * which `agentry smoke` starts after a deploy to check that the API, the workers and the
 * scheduler work together (a transform, a durable sleep, a wait for a signal). Its spec is kept
 * here as text, so it ships inside the compiled package and every process — API, worker,
 * scheduler — compiles the same spec with the same hash. Its names are reserved: a project
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

const SOURCES: Readonly<Record<string, string>> = { [SMOKE_WORKFLOW]: SMOKE_YAML };

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
