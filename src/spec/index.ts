/**
 * The spec layer: YAML project → validated, compiled specs; `{{ }}` templates and CEL.
 *
 * ```ts
 * const { project, diagnostics } = await loadProject('.', { availableKinds: new Set(['transform', 'http', 'sleep']) });
 * for (const d of diagnostics) console.error(formatDiagnostic(d));
 * const wf = project.workflows.get('demo');
 * ```
 */
export { compileWorkflow, checkWorkflow, specHash } from './compile.js';
export { formatDiagnostic, SpecError, type Diagnostic } from './diagnostics.js';
export { parseDuration } from '../lib/duration.js';
export { checkExpression, evaluateExpression } from './expression.js';
export { environmentFromEnv, loadProject, type LoadOptions, type LoadResult, type SpecChecks } from './load.js';
export type { EnvironmentChoice } from './settings.js';
export * from './model.js';
export * from './schemas.js';
export { renderTemplate, templateReferences } from './template.js';
export { compileInlineWorkflow } from './inline.js';
export { applyOverrides } from './overrides.js';
export { migrateSpec } from './migrate.js';
