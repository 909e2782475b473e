/**
 * The spec layer: YAML project → validated, compiled specs; `{{ }}` templates and CEL.
 *
 * ```ts
 * const { project, diagnostics } = await loadProject('.', { availableKinds: new Set(['transform', 'http', 'sleep']) });
 * for (const d of diagnostics) console.error(formatDiagnostic(d));
 * const wf = project.workflows.get('demo');
 * ```
 */
export { compileWorkflow, checkWorkflow, specHash, RETRY_DEFAULTS, type CompileOptions } from './compile.js';
export { formatDiagnostic, formatPath, SpecError, type Diagnostic, type PathSegment } from './diagnostics.js';
export { parseDuration } from '../lib/duration.js';
export { checkExpression, evaluateExpression, expressionReferences, type ExpressionReferences } from './expression.js';
export { loadProject, type LoadOptions, type LoadResult, type Project, type SpecChecks } from './load.js';
export * from './model.js';
export * from './schemas.js';
export { resolveSettings, SETTINGS_DEFAULTS, type ProjectSettings } from './settings.js';
export { renderTemplate, templateReferences, type TemplateExpression, type TemplateReferences } from './template.js';
