/**
 * Loads a project directory: `agentry.yaml`, `gateway.yaml`, `workflows/`, `agents/` and
 * `tools/` (`.yaml` or `.yml`). A file with any error is left out; everything else loads.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentryError } from '../lib/errors.js';
import { RESERVED_WORKFLOW_NAMES } from './builtin.js';
import { checkWorkflow } from './compile.js';
import { guardrailProblems } from './guardrails.js';
import { didYouMean, hasErrors, type Diagnostic, type PathSegment, type Problem } from './diagnostics.js';
import type { CompiledWorkflow, StepKind } from './model.js';
import type { AgentSpec, GatewaySpec, ProjectSpec, SpecKind, ToolSpec } from './schemas.js';
import { resolveSettings, type EnvironmentChoice, type ProjectSettings } from './settings.js';
import { pluginStepProblems, pluginToolProblems, type PluginCatalog } from './plugin-catalog.js';
import { parseYaml, toDiagnostics, type Locator } from './source.js';
import { validateSpec } from './validate.js';

export interface LoadOptions {
  /** Step kinds this build can run; a step of another kind is an error. */
  availableKinds: ReadonlySet<StepKind>;
  /** Read for `AGENTRY_PROFILE`; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * The environment to activate (`environments:` of agentry.yaml). Default: `AGENTRY_ENVIRONMENT`,
   * else the environment named like `AGENTRY_ENV` (development, production) when one is declared.
   */
  environment?: EnvironmentChoice;
  /** Checks owned by the layers that run the specs; `app/project.ts` passes the gateway's and the tools'. */
  checks: SpecChecks;
}

/** Checks beyond the JSON Schemas, run on each file that passed its schema. */
export interface SpecChecks {
  gateway: (spec: GatewaySpec) => Problem[];
  tool: (spec: ToolSpec) => Problem[];
  /** An agent's `tools:` entries against the project's tool servers. */
  agentTools: (entries: readonly string[], servers: ReadonlyMap<string, Pick<ToolSpec, 'allow'>>) => Problem[];
  /**
   * The installed plugins: `plugin:` steps and agents' `tools:` entries naming a plugin are
   * checked against them. Undefined: nothing is known of plugins here, and those are not checked.
   */
  plugins?: PluginCatalog | undefined;
}

export interface Project {
  dir: string;
  settings: ProjectSettings;
  workflows: Map<string, CompiledWorkflow>;
  agents: Map<string, AgentSpec>;
  tools: Map<string, ToolSpec>;
  gateway: GatewaySpec | undefined;
  /** Every spec file read, relative to `dir`. */
  files: string[];
}

export interface LoadResult {
  project: Project;
  /** Errors and warnings of every file, ordered by file then line. */
  diagnostics: Diagnostic[];
}

interface Source {
  file: string;
  data: unknown;
  locate: Locator;
}

interface Loaded<T> {
  spec: T;
  source: Source;
}

const YAML_FILE = /\.ya?ml$/;

export async function loadProject(dir: string, options: LoadOptions): Promise<LoadResult> {
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  const report = (source: Source, problems: readonly Problem[]): void => {
    diagnostics.push(...toDiagnostics(problems, source.file, source.locate));
  };
  const read = async (file: string): Promise<Source | undefined> => {
    files.push(file);
    const parsed = parseYaml(file, await readFile(path.join(dir, file), 'utf8'));
    diagnostics.push(...parsed.diagnostics);
    return parsed.data === undefined ? undefined : { file, data: parsed.data, locate: parsed.locate };
  };
  /** Reads and schema-checks one file; the spec is undefined when it has errors. */
  const load = async <T>(file: string, kind: SpecKind, extra?: (spec: T) => Problem[]): Promise<Loaded<T> | undefined> => {
    const source = await read(file);
    if (source === undefined) return undefined;
    const problems = validateSpec(kind, source.data);
    if (!hasErrors(problems) && extra !== undefined) problems.push(...inFile(file, () => extra(source.data as T)));
    report(source, problems);
    return hasErrors(problems) ? undefined : { spec: source.data as T, source };
  };

  const listing = new Set(await listDir(dir));
  const pick = (base: string): string | undefined => {
    const found = [`${base}.yaml`, `${base}.yml`].filter((name) => listing.has(name));
    if (found.length > 1) diagnostics.push(fileDiagnostic(`${base}.yml`, `both ${base}.yaml and ${base}.yml exist; ${base}.yml is ignored`, 'warning'));
    return found[0];
  };

  const projectFile = pick('agentry');
  const projectSpec = projectFile === undefined ? undefined : await load<ProjectSpec>(projectFile, 'project');
  const env = options.env ?? process.env;
  const resolved = resolveSettings(projectSpec?.spec, env['AGENTRY_PROFILE'], options.environment ?? environmentFromEnv(env));
  if (projectSpec !== undefined) report(projectSpec.source, resolved.problems);
  else diagnostics.push(...resolved.problems.map((p) => fileDiagnostic(projectFile ?? 'agentry.yaml', p.message)));

  const gatewayFile = pick('gateway');
  const gateway = gatewayFile === undefined ? undefined : await load<GatewaySpec>(gatewayFile, 'gateway', options.checks.gateway);

  const agents = new Map<string, Loaded<AgentSpec>>();
  for (const file of await listSpecs(dir, 'agents')) {
    const loaded = await load<AgentSpec>(file, 'agent');
    if (loaded !== undefined) addUnique(agents, 'agent', loaded.spec.name, loaded, report);
  }
  const tools = new Map<string, Loaded<ToolSpec>>();
  for (const file of await listSpecs(dir, 'tools')) {
    const loaded = await load<ToolSpec>(file, 'tool', options.checks.tool);
    if (loaded !== undefined) addUnique(tools, 'tool server', loaded.spec.name, loaded, report);
  }
  const workflows = new Map<string, Loaded<CompiledWorkflow>>();
  for (const file of await listSpecs(dir, 'workflows')) {
    const source = await read(file);
    if (source === undefined) continue;
    const { workflow, problems } = inFile(file, () => checkWorkflow(source.data, { file, availableKinds: options.availableKinds }));
    if (workflow !== undefined && RESERVED_WORKFLOW_NAMES.has(workflow.name)) {
      problems.push({ path: ['name'], message: `workflow name '${workflow.name}' is reserved for a built-in workflow of Agentry; choose another name` });
    }
    report(source, problems);
    if (workflow !== undefined && !hasErrors(problems)) addUnique(workflows, 'workflow', workflow.name, { spec: workflow, source }, report);
  }

  // References across files; a file with a dangling reference is left out too.
  for (const [name, agent] of agents) {
    const servers = new Map([...tools].map(([n, t]) => [n, t.spec]));
    const problems = [...agentToolReferences(agent.spec.tools ?? [], servers, options.checks), ...agentReferences(agent.spec, gateway?.spec)];
    report(agent.source, problems);
    if (hasErrors(problems)) agents.delete(name);
  }
  for (const [name, workflow] of workflows) {
    const models = gateway === undefined ? undefined : new Map(Object.entries(gateway.spec.models));
    const problems = workflowReferences(workflow.spec, options.availableKinds, { agents, tools, workflows, models, plugins: options.checks.plugins });
    report(workflow.source, problems);
    if (hasErrors(problems)) workflows.delete(name);
  }
  const cyclic = [...workflows].flatMap(([name, workflow]) => {
    const cycle = subWorkflowCycle(name, workflows);
    if (cycle === undefined) return [];
    const [first] = [...workflow.spec.steps.values()].filter((s) => s.kind === 'workflow' && s.config === cycle[1]);
    report(workflow.source, [{ path: ['steps', first?.id ?? '', 'workflow'], message: `sub-workflows call each other without end: ${cycle.join(' → ')}` }]);
    return [name];
  });
  for (const name of cyclic) workflows.delete(name);

  diagnostics.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  const project: Project = {
    dir,
    settings: resolved.settings,
    workflows: new Map([...workflows].map(([name, loaded]) => [name, loaded.spec])),
    agents: new Map([...agents].map(([name, loaded]) => [name, loaded.spec])),
    tools: new Map([...tools].map(([name, loaded]) => [name, loaded.spec])),
    gateway: gateway?.spec,
    files: files.sort(),
  };
  return { project, diagnostics };
}

/** `AGENTRY_ENVIRONMENT` names the environment; without it, the one named like the mode (`AGENTRY_ENV`) is used when declared. */
export function environmentFromEnv(env: NodeJS.ProcessEnv): EnvironmentChoice | undefined {
  const named = env['AGENTRY_ENVIRONMENT'];
  if (named !== undefined && named !== '') return { name: named, source: 'AGENTRY_ENVIRONMENT' };
  return { name: env['AGENTRY_ENV'] || 'development', implicit: true, source: 'AGENTRY_ENV' };
}

function addUnique<T>(map: Map<string, Loaded<T>>, what: string, name: string, loaded: Loaded<T>, report: (source: Source, problems: Problem[]) => void): void {
  const existing = map.get(name);
  if (existing === undefined) {
    map.set(name, loaded);
    return;
  }
  report(loaded.source, [{ path: ['name'], message: `${what} '${name}' is already defined in ${existing.source.file}` }]);
}

function agentReferences(agent: AgentSpec, gateway: GatewaySpec | undefined): Problem[] {
  const problems: Problem[] = guardrailProblems(agent.guardrails);
  if (gateway !== undefined && gateway.models[agent.model] === undefined) {
    const groups = Object.keys(gateway.models);
    problems.push({ path: ['model'], message: `unknown model group '${agent.model}' (not in gateway.yaml)${didYouMean(agent.model, groups)}` });
  }
  for (const phase of ['input', 'output'] as const) {
    (agent.guardrails?.[phase] ?? []).forEach((g, index) => {
      if (gateway === undefined || g.model === undefined || gateway.models[g.model] !== undefined) return;
      const message = `unknown model group '${g.model}' (not in gateway.yaml)${didYouMean(g.model, Object.keys(gateway.models))}`;
      problems.push({ path: ['guardrails', phase, index, 'model'], message });
    });
  }
  return problems;
}

function workflowReferences(
  wf: CompiledWorkflow,
  available: ReadonlySet<StepKind>,
  known: {
    agents: ReadonlyMap<string, unknown>;
    tools: ReadonlyMap<string, unknown>;
    workflows: ReadonlyMap<string, unknown>;
    /** The model groups of gateway.yaml; undefined without one (nothing to check against). */
    models: ReadonlyMap<string, unknown> | undefined;
    /** The installed plugins; undefined: `plugin:` steps are not checked against them. */
    plugins: PluginCatalog | undefined;
  },
): Problem[] {
  const problems: Problem[] = [];
  const check = (names: ReadonlyMap<string, unknown>, name: unknown, path: PathSegment[], what: string): void => {
    if (typeof name === 'string' && !names.has(name)) problems.push({ path, message: `unknown ${what} '${name}'${didYouMean(name, names.keys())}` });
  };
  for (const step of wf.steps.values()) {
    if (!available.has(step.kind)) continue;
    const at: PathSegment[] = ['steps', step.id, step.kind];
    if (step.kind === 'agent') check(known.agents, step.config, at, 'agent');
    if (step.model !== undefined && known.models !== undefined) check(known.models, step.model, ['steps', step.id, 'model'], 'model group');
    if (step.kind === 'workflow') check(known.workflows, step.config, at, 'workflow');
    if (step.kind === 'tool') check(known.tools, step.config.server, [...at, 'server'], 'tool server');
    if (step.kind === 'plugin' && known.plugins !== undefined) problems.push(...pluginStepProblems(step.config, known.plugins, at));
  }
  return problems;
}

/**
 * An agent's `tools:` entries: those naming a plugin (and no tool server) against the plugins,
 * the rest against the tool servers. Entries are `server`, `server.*` or `server.tool`.
 */
function agentToolReferences(entries: readonly string[], servers: ReadonlyMap<string, Pick<ToolSpec, 'allow'>>, checks: SpecChecks): Problem[] {
  const plugins = checks.plugins;
  return entries.flatMap((entry, i): Problem[] => {
    const dot = entry.indexOf('.');
    const owner = dot === -1 ? entry : entry.slice(0, dot);
    if (plugins?.has(owner) === true && !servers.has(owner)) {
      return pluginToolProblems(owner, dot === -1 ? '*' : entry.slice(dot + 1) || '*', plugins, ['tools', i]);
    }
    if (plugins?.has(owner) === true) {
      return [{ path: ['tools', i], message: `'${owner}' names both a tool server (tools/) and a plugin: rename the tool server` }];
    }
    return checks.agentTools([entry], servers).map((p) => ({ ...p, path: ['tools', i, ...p.path.slice(2)] }));
  });
}

/** A chain of `workflow:` steps leading from `start` back to itself, if any. */
function subWorkflowCycle(start: string, workflows: ReadonlyMap<string, { spec: CompiledWorkflow }>): string[] | undefined {
  const seen = new Set<string>();
  const walk = (name: string, path: string[]): string[] | undefined => {
    for (const step of workflows.get(name)?.spec.steps.values() ?? []) {
      if (step.kind !== 'workflow' || typeof step.config !== 'string') continue;
      if (step.config === start) return [...path, start];
      if (seen.has(step.config)) continue;
      seen.add(step.config);
      const found = walk(step.config, [...path, step.config]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

/** Runs the checks of one file, naming the file in a `limit_exceeded` they throw (an expression's). */
function inFile<T>(file: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'limit_exceeded' && !error.message.startsWith(`${file}:`)) {
      throw new AgentryError('limit_exceeded', `${file}: ${error.message}`, { details: { file, ...(error.details as object) }, cause: error });
    }
    throw error;
  }
}

function fileDiagnostic(file: string, message: string, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  return { file, line: 0, column: 0, path: '', message, severity };
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** `<sub>/*.yaml|yml`, relative to `dir`, sorted. */
async function listSpecs(dir: string, sub: string): Promise<string[]> {
  const names = await listDir(path.join(dir, sub));
  return names
    .filter((name) => YAML_FILE.test(name))
    .sort()
    .map((name) => `${sub}/${name}`);
}
