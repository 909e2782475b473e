/**
 * A workflow spec given inline (an ad-hoc run's `spec`, docs/api.md#ad-hoc-runs): YAML text or
 * an object, checked like a file of `workflows/` and compiled, with each problem placed at a
 * line of the text (an object's at its path only).
 */
import { RESERVED_WORKFLOW_NAMES } from './builtin.js';
import { checkWorkflow } from './compile.js';
import { hasErrors, SpecError, type Diagnostic, type Problem } from './diagnostics.js';
import type { CompiledWorkflow, StepKind } from './model.js';
import { parseYaml, toDiagnostics, type Locator } from './source.js';

/** The name diagnostics give an inline spec. */
const INLINE_SPEC_FILE = '<inline spec>';

/** Compiles an inline workflow spec; `SpecError` (`spec_invalid`) listing every error with its line when it is not valid. */
export function compileInlineWorkflow(spec: string | Record<string, unknown>, availableKinds: ReadonlySet<StepKind>): CompiledWorkflow {
  const file = INLINE_SPEC_FILE;
  let data: unknown = spec;
  let locate: Locator = () => ({ line: 0, column: 0 });
  const diagnostics: Diagnostic[] = [];
  if (typeof spec === 'string') {
    const parsed = parseYaml(file, spec);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.data === undefined) throw new SpecError(diagnostics);
    data = parsed.data;
    locate = parsed.locate;
  }
  const { workflow, problems } = checkWorkflow(data, { file, availableKinds });
  const all: Problem[] = [...problems];
  if (workflow !== undefined && RESERVED_WORKFLOW_NAMES.has(workflow.name)) {
    all.push({ path: ['name'], message: `workflow name '${workflow.name}' is reserved for a built-in workflow of Agentry; choose another name` });
  }
  diagnostics.push(...toDiagnostics(all, file, locate));
  if (workflow === undefined || hasErrors(diagnostics)) throw new SpecError(diagnostics);
  return workflow;
}
