/**
 * Workflow spec (plain object) → `CompiledWorkflow`: schema check, then the checks a schema
 * cannot express (step kinds, references, expressions, cycles), then the compiled model.
 */
import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { didYouMean, formatPath, hasErrors, SpecError, type Diagnostic, type PathSegment, type Problem } from './diagnostics.js';
import { parseDuration } from '../lib/duration.js';
import { artifactPatternProblem, matchesArtifactPatterns, normalizeArtifactName } from '../lib/artifact-path.js';
import { parseEgressRules } from '../lib/egress.js';
import { checkExpression, expressionReferences, SCOPE_VARIABLES } from './expression.js';
import { orderSteps } from './graph.js';
import { STEP_KINDS, type CompiledStep, type CompiledWorkflow, type KindConfig, type RetryPolicy, type StepKind, type WorkflowRetention } from './model.js';
import type { RetrySpec, StepSpec, WorkflowSpec } from './schemas.js';
import { templateReferences } from './template.js';
import { checkJsonSchema, checkValue, validateSpec } from './validate.js';

export interface CompileOptions {
  /** Spec file (relative to the project dir), recorded on the result and in diagnostics. */
  file?: string;
  availableKinds: ReadonlySet<StepKind>;
}

/** Items of a `for_each` step running at once, when `concurrency` is not given. */
export const DEFAULT_MAP_CONCURRENCY = 10;
/** Longest list a `for_each` step takes, when `max_items` is not given. */
export const DEFAULT_MAP_MAX_ITEMS = 10_000;

export const RETRY_DEFAULTS: RetryPolicy = { maxAttempts: 1, backoff: 'exponential', initialMs: 1_000, maxMs: 60_000, jitter: true };

/** Compiles a workflow spec object; throws `SpecError` listing every problem. */
export function compileWorkflow(spec: unknown, options: CompileOptions): CompiledWorkflow {
  const { workflow, problems } = checkWorkflow(spec, options);
  if (workflow === undefined) {
    const file = options.file ?? '<workflow>';
    const diagnostics: Diagnostic[] = problems.map((p) => ({
      file,
      line: 0,
      column: 0,
      path: formatPath(p.path),
      message: p.message,
      severity: p.severity ?? 'error',
    }));
    throw new SpecError(diagnostics);
  }
  return workflow;
}

/** Every problem in a workflow spec, and the compiled workflow when there is no error. */
export function checkWorkflow(spec: unknown, options: CompileOptions): { workflow: CompiledWorkflow | undefined; problems: Problem[] } {
  const schemaProblems = validateSpec('workflow', spec);
  if (hasErrors(schemaProblems)) return { workflow: undefined, problems: schemaProblems };
  const wf = spec as WorkflowSpec;
  const ctx: Ctx = {
    wf,
    available: options.availableKinds,
    ids: Object.keys(wf.steps),
    envNames: Object.keys(wf.env ?? {}),
    deps: new Map(),
    problems: [],
  };
  const compiled = checkAll(ctx);
  const deadlineMs = durationMs(ctx, wf.deadline, ['deadline']);
  const retention = retentionOf(ctx, wf.retention);
  const egress = wf.egress === undefined ? undefined : parseEgressRules(wf.egress, `workflow ${wf.name}`);
  for (const problem of egress?.problems ?? []) ctx.problems.push({ path: ['egress', ...problem.path], message: problem.message });
  const problems = [...schemaProblems, ...ctx.problems];
  if (hasErrors(problems)) return { workflow: undefined, problems };
  const workflow: CompiledWorkflow = {
    name: wf.name,
    description: wf.description,
    file: options.file,
    hash: specHash(wf),
    spec: structuredClone(wf),
    inputSchema: wf.input?.schema,
    env: Object.keys(wf.env ?? {}),
    secrets: Object.entries(wf.env ?? {}).flatMap(([name, v]) => (v.secret === true ? [name] : [])),
    deadlineMs,
    steps: compiled.steps,
    order: compiled.order,
    output: wf.output,
    concurrency: wf.concurrency,
    retention,
    egress: egress?.rules,
    artifacts: wf.artifacts ?? [],
  };
  return { workflow, problems };
}

/** `retention:` in ms, each field given. */
function retentionOf(ctx: Ctx, r: WorkflowSpec['retention']): WorkflowRetention | undefined {
  if (r === undefined) return undefined;
  const out: WorkflowRetention = {};
  for (const [field, key] of [
    ['succeeded', 'succeededMs'],
    ['failed', 'failedMs'],
    ['cancelled', 'cancelledMs'],
    ['events', 'eventsMs'],
  ] as const) {
    const ms = durationMs(ctx, r[field], ['retention', field]);
    if (ms !== undefined) out[key] = ms;
  }
  return out;
}

/** sha256 of the canonical JSON (sorted keys) of a spec. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface ExprContext {
  /** The step the expression belongs to (it may not read itself). */
  self?: string;
  /** `item` and `index` are in scope (config and input of a `for_each` step). */
  forEach: boolean;
  /** `steps.*` may be read. */
  steps: boolean;
}

/** What the checks of one workflow share. */
interface Ctx {
  wf: WorkflowSpec;
  available: ReadonlySet<StepKind>;
  ids: string[];
  envNames: string[];
  /** step → dependency → where the dependency was declared. */
  deps: Map<string, Map<string, PathSegment[]>>;
  problems: Problem[];
}

function checkAll(ctx: Ctx): { steps: Map<string, CompiledStep>; order: string[] } {
  const { wf } = ctx;
  if (wf.input !== undefined) checkSchema(ctx, wf.input.schema, ['input', 'schema']);
  durationMs(ctx, wf.defaults?.timeout, ['defaults', 'timeout']);
  retryOf(ctx, wf.defaults?.retry, ['defaults', 'retry']);
  if (wf.concurrency !== undefined) checkBare(ctx, wf.concurrency.key, ['concurrency', 'key'], { forEach: false, steps: false });
  (wf.artifacts ?? []).forEach((pattern, i) => {
    const problem = artifactPatternProblem(pattern);
    if (problem !== undefined) ctx.problems.push({ path: ['artifacts', i], message: `artifact path '${pattern.slice(0, 80)}' ${problem}` });
  });
  if (wf.schedule !== undefined) {
    checkSchedule(ctx, wf.schedule.cron, wf.schedule.timezone);
    if (wf.input !== undefined && !hasErrors(checkJsonSchema(wf.input.schema, []))) {
      ctx.problems.push(...checkValue(wf.input.schema, wf.schedule.input ?? {}, ['schedule', 'input'], 'the scheduled input'));
    }
  }
  const steps = new Map<string, CompiledStep>();
  for (const id of ctx.ids) {
    const step = wf.steps[id];
    if (step !== undefined) steps.set(id, compileStep(ctx, id, step));
  }
  checkTemplates(ctx, wf.output, ['output'], { forEach: false, steps: true });
  const needs = new Map([...steps].map(([id, step]) => [id, step.needs]));
  const { order, cycles } = orderSteps(ctx.ids, needs);
  for (const cycle of cycles) {
    const edges = cycle.map((id, i) => `${id} needs ${cycle[(i + 1) % cycle.length] ?? id}`);
    const [first, second] = [cycle[0] ?? '', cycle[1 % cycle.length] ?? ''];
    const path = ctx.deps.get(first)?.get(second) ?? ['steps', first];
    ctx.problems.push({ path, message: `dependency cycle: ${edges.join(', ')}` });
  }
  return { steps, order };
}

function compileStep(ctx: Ctx, id: string, step: StepSpec): CompiledStep {
  const { wf, problems } = ctx;
  const base: PathSegment[] = ['steps', id];
  const record = step as Record<string, unknown>;
  const kinds = STEP_KINDS.filter((kind) => record[kind] !== undefined);
  const kind = kinds[0] ?? 'transform';
  if (kinds.length === 0) {
    problems.push({ path: base, atKey: true, message: `step '${id}' has no kind: add one of ${STEP_KINDS.join(', ')}` });
  } else if (kinds.length > 1) {
    const message = `step '${id}' has more than one kind (${kinds.join(', ')}); keep exactly one`;
    problems.push({ path: [...base, kinds[1] ?? kind], atKey: true, message });
  } else if (!ctx.available.has(kind)) {
    problems.push({ path: [...base, kind], atKey: true, message: `step kind '${kind}' is not available in this version` });
  }
  ctx.deps.set(id, new Map());
  (step.needs ?? []).forEach((dep, i) => addNeed(ctx, id, dep, [...base, 'needs', i]));
  const inner: ExprContext = { self: id, forEach: step.for_each !== undefined, steps: true };
  const outer: ExprContext = { self: id, forEach: false, steps: true };
  checkTemplates(ctx, record[kind], [...base, kind], inner);
  if (step.input !== undefined) {
    if (kind !== 'agent' && kind !== 'workflow' && kind !== 'human') {
      problems.push({ path: [...base, 'input'], atKey: true, severity: 'warning', message: 'input is only used by agent, workflow and human steps' });
    }
    checkTemplates(ctx, step.input, [...base, 'input'], inner);
  }
  if (step.when !== undefined) checkBare(ctx, step.when, [...base, 'when'], outer);
  if (step.for_each !== undefined) {
    checkBare(ctx, step.for_each.from, [...base, 'for_each', 'from'], outer);
    if (kind === 'wait')
      problems.push({ path: [...base, 'for_each'], atKey: true, message: 'a wait step cannot use for_each: a signal is delivered once per run' });
  }
  if ((kind === 'human' || kind === 'wait') && step.timeout !== undefined) {
    problems.push({
      path: [...base, 'timeout'],
      atKey: true,
      severity: 'warning',
      message: `a ${kind} step's deadline is ${kind}.timeout; this timeout has no effect`,
    });
  }
  if (step.model !== undefined && kind !== 'agent') {
    problems.push({ path: [...base, 'model'], atKey: true, message: `model is only used by agent steps; step '${id}' is a ${kind} step` });
  }
  (step.overridable ?? []).forEach((setting, i) => {
    if (setting === 'model' && kind !== 'agent') {
      problems.push({ path: [...base, 'overridable', i], message: `only an agent step's model can be overridden; step '${id}' is a ${kind} step` });
    }
  });
  checkArtifactWrites(ctx, id, step, kind);
  if (step.output !== undefined) checkSchema(ctx, step.output.schema, [...base, 'output', 'schema']);
  if (step.human?.form !== undefined) checkSchema(ctx, step.human.form.schema, [...base, 'human', 'form', 'schema']);
  durationMs(ctx, step.http?.timeout, [...base, 'http', 'timeout']);
  durationMs(ctx, step.human?.timeout, [...base, 'human', 'timeout']);
  if (typeof step.sleep === 'object') {
    if ('duration' in step.sleep) durationMs(ctx, step.sleep.duration, [...base, 'sleep', 'duration']);
  } else {
    durationMs(ctx, step.sleep, [...base, 'sleep']);
  }
  const retry = { ...RETRY_DEFAULTS, ...retryOf(ctx, wf.defaults?.retry, ['defaults', 'retry']), ...retryOf(ctx, step.retry, [...base, 'retry']) };
  return {
    id,
    ...kindConfig(step),
    input: step.input,
    needs: [...(ctx.deps.get(id)?.keys() ?? [])].sort(),
    when: step.when,
    retry,
    timeoutMs: durationMs(ctx, step.timeout, [...base, 'timeout']) ?? durationMs(ctx, wf.defaults?.timeout, ['defaults', 'timeout']),
    outputSchema: step.output?.schema,
    forEach: step.for_each && {
      from: step.for_each.from,
      concurrency: step.for_each.concurrency ?? DEFAULT_MAP_CONCURRENCY,
      maxItems: step.for_each.max_items ?? DEFAULT_MAP_MAX_ITEMS,
      maxFailures: step.for_each.max_failures ?? 0,
    },
    model: step.model,
    overridable: step.overridable ?? [],
    writeArtifacts: step.write_artifacts === true,
  };
}

/** `http.save_body_as` and `write_artifacts`: only where they apply, with a declared `artifacts:`, a literal name among them. */
function checkArtifactWrites(ctx: Ctx, id: string, step: StepSpec, kind: StepKind): void {
  const base: PathSegment[] = ['steps', id];
  const declared = ctx.wf.artifacts ?? [];
  if (step.write_artifacts !== undefined && kind !== 'agent') {
    ctx.problems.push({
      path: [...base, 'write_artifacts'],
      atKey: true,
      message: `write_artifacts is only used by agent steps; step '${id}' is a ${kind} step`,
    });
  } else if (step.write_artifacts === true && declared.length === 0) {
    ctx.problems.push({
      path: [...base, 'write_artifacts'],
      atKey: true,
      message: "write_artifacts needs the workflow's artifacts: to declare what the agent may write",
    });
  }
  const name = step.http?.save_body_as;
  if (name === undefined) return;
  const path = [...base, 'http', 'save_body_as'];
  if (declared.length === 0) {
    ctx.problems.push({ path, message: `save_body_as '${name.slice(0, 80)}' is not declared: add it to the workflow's artifacts:` });
    return;
  }
  if (name.includes('{{')) return; // rendered per run; the write is checked then
  const normalised = normalizeArtifactName(name);
  if ('problem' in normalised) {
    ctx.problems.push({ path, message: `save_body_as '${name.slice(0, 80)}' ${normalised.problem}` });
  } else if (!matchesArtifactPatterns(normalised.name, declared)) {
    ctx.problems.push({ path, message: `save_body_as '${normalised.name}' is not one of the workflow's artifacts: (${declared.join(', ')})` });
  }
}

/** The step's first kind (in `STEP_KINDS` order) with its block; `transform` of nothing when it has none (a reported problem). */
function kindConfig(step: StepSpec): KindConfig {
  if (step.transform !== undefined) return { kind: 'transform', config: step.transform };
  if (step.http !== undefined) return { kind: 'http', config: step.http };
  if (step.sleep !== undefined) return { kind: 'sleep', config: step.sleep };
  if (step.agent !== undefined) return { kind: 'agent', config: step.agent };
  if (step.tool !== undefined) return { kind: 'tool', config: step.tool };
  if (step.human !== undefined) return { kind: 'human', config: step.human };
  if (step.wait !== undefined) return { kind: 'wait', config: step.wait };
  if (step.workflow !== undefined) return { kind: 'workflow', config: step.workflow };
  if (step.plugin !== undefined) return { kind: 'plugin', config: step.plugin };
  return { kind: 'transform', config: undefined };
}

function addNeed(ctx: Ctx, id: string, dep: string, path: PathSegment[]): void {
  if (dep === id) {
    ctx.problems.push({ path, message: `step '${id}' cannot depend on itself` });
  } else if (!ctx.ids.includes(dep)) {
    ctx.problems.push({ path, message: `unknown step '${dep}'${didYouMean(dep, ctx.ids)}` });
  } else {
    const deps = ctx.deps.get(id);
    if (deps !== undefined && !deps.has(dep)) deps.set(dep, path);
  }
}

/** A bare CEL expression (`when:`, `for_each.from`, `concurrency.key`). */
function checkBare(ctx: Ctx, expr: string, path: PathSegment[], context: ExprContext): void {
  if (expr.trim().startsWith('{{')) {
    ctx.problems.push({ path, message: 'write a bare CEL expression here, without {{ }}' });
    return;
  }
  checkExpr(ctx, expr, path, context);
}

function checkTemplates(ctx: Ctx, value: unknown, path: PathSegment[], context: ExprContext): void {
  for (const found of templateReferences(value).expressions) {
    const at = [...path, ...found.path];
    if (found.error !== undefined) ctx.problems.push({ path: at, message: `malformed template: ${found.error}` });
    else checkExpr(ctx, found.expr, at, context);
  }
}

function checkExpr(ctx: Ctx, expr: string, path: PathSegment[], context: ExprContext): void {
  const { problems } = ctx;
  const syntax = checkExpression(expr);
  if (syntax !== undefined) {
    problems.push({ path, message: `invalid expression '${expr}': ${syntax}` });
    return;
  }
  const refs = expressionReferences(expr);
  const allowed: readonly string[] = SCOPE_VARIABLES;
  for (const name of refs.variables) {
    if (!allowed.includes(name)) {
      problems.push({ path, message: `unknown variable '${name}' in '${expr}'${didYouMean(name, allowed)}` });
    } else if ((name === 'item' || name === 'index') && !context.forEach) {
      problems.push({ path, message: `'${name}' is only available in the config and input of a step with for_each` });
    } else if (name === 'steps' && !context.steps) {
      problems.push({ path, message: 'steps cannot be read here' });
    }
  }
  for (const name of refs.env) {
    if (!ctx.envNames.includes(name)) {
      problems.push({ path, message: `env.${name} is not declared under env:${didYouMean(name, ctx.envNames)}` });
    }
  }
  if (!context.steps) return;
  for (const dep of refs.steps) {
    if (dep === context.self) {
      problems.push({ path, message: `step '${dep}' cannot read its own output` });
    } else if (!ctx.ids.includes(dep)) {
      problems.push({ path, message: `unknown step '${dep}' in '${expr}'${didYouMean(dep, ctx.ids)}` });
    } else if (context.self !== undefined) {
      const deps = ctx.deps.get(context.self);
      if (deps !== undefined && !deps.has(dep)) deps.set(dep, path);
    }
  }
}

function checkSchema(ctx: Ctx, schema: unknown, path: PathSegment[]): void {
  ctx.problems.push(...checkJsonSchema(schema, path));
}

function checkSchedule(ctx: Ctx, cron: string, timezone: string | undefined): void {
  const path: PathSegment[] = ['schedule', 'cron'];
  let zone = 'UTC';
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      zone = timezone;
    } catch {
      ctx.problems.push({ path: ['schedule', 'timezone'], message: `unknown time zone '${timezone}' (use an IANA name like Europe/Berlin or UTC)` });
    }
  }
  const pattern = cron.trim();
  const fields = pattern === '' ? 0 : pattern.split(/\s+/).length;
  // croner would also take 7 fields (years) or an ISO date (a one-off run): neither is a schedule.
  if (!pattern.startsWith('@') && (fields < 5 || fields > 6)) {
    ctx.problems.push({
      path,
      message: `invalid cron expression '${cron}': it has ${fields} field${fields === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week), 6 (seconds first) or a nickname like @daily`,
    });
    return;
  }
  let next: Date | null;
  try {
    // The same mode as the scheduler (engine/schedules.ts CRON_MODE); paused: no timer.
    next = new Cron(pattern, { timezone: zone, paused: true, mode: '5-or-6-parts' }).nextRun();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^Cron(Pattern|Date)?:\s*/, '');
    ctx.problems.push({ path, message: `invalid cron expression '${cron}': ${reason}` });
    return;
  }
  if (next === null) ctx.problems.push({ path, message: `cron expression '${cron}' never matches a date (like February 30), so the schedule would never run` });
}

function retryOf(ctx: Ctx, spec: RetrySpec | undefined, path: PathSegment[]): Partial<RetryPolicy> {
  if (spec === undefined) return {};
  const out: Partial<RetryPolicy> = {};
  if (spec.max_attempts !== undefined) out.maxAttempts = spec.max_attempts;
  if (spec.backoff !== undefined) out.backoff = spec.backoff;
  const initial = durationMs(ctx, spec.initial, [...path, 'initial']);
  if (initial !== undefined) out.initialMs = initial;
  const max = durationMs(ctx, spec.max, [...path, 'max']);
  if (max !== undefined) out.maxMs = max;
  if (spec.jitter !== undefined) out.jitter = spec.jitter;
  return out;
}

/** Milliseconds of a duration (undefined when absent); a bad one becomes a problem, once. */
function durationMs(ctx: Ctx, value: string | number | undefined, path: PathSegment[]): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (error) {
    const message = (error as Error).message;
    const where = formatPath(path);
    if (!ctx.problems.some((p) => p.message === message && formatPath(p.path) === where)) ctx.problems.push({ path, message });
    return undefined;
  }
}
