/**
 * `agentry spec migrate`: rewrites a spec written for an older `version:` to the current one,
 * and the deprecated forms the current version still accepts (each a validate warning) to the
 * form that replaces them. Edits are made on the YAML document (the `yaml` Document API), so
 * comments, quoting and flow styles of everything not rewritten stay as they were.
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { SpecError, type Diagnostic } from './diagnostics.js';
import { STEP_KINDS } from './schemas.js';
import { parseYaml } from './source.js';

export const CURRENT_SPEC_VERSION = 'v1';

/** One rewrite made (or, with `--check`, that would be made). */
export interface SpecChange {
  /** Stable name of the rewrite: `declare_version`, `step_timeout_moved`, … */
  rule: string;
  /** Dotted path of what changed, as validate reports paths. */
  path: string;
  /** 1-based line of the original file. */
  line: number;
  message: string;
}

export interface SpecMigration {
  /** The version the file declared (`unversioned` when it had no `version:`). */
  from: string;
  to: string;
  changes: SpecChange[];
  /** The migrated text; the input itself when nothing changed. */
  text: string;
}

interface RewriteContext {
  doc: Document;
  root: YAMLMap;
  changes: SpecChange[];
  lineOf: (node: Node | null | undefined) => number;
}

type Rewrite = (ctx: RewriteContext) => void;

const UNVERSIONED = 'unversioned';

/** `version: v1` written out, at the top: a spec states the version it was written for. */
const declareVersion: Rewrite = ({ doc, root, changes }) => {
  root.items.unshift(doc.createPair('version', CURRENT_SPEC_VERSION));
  changes.push({ rule: 'declare_version', path: 'version', line: 1, message: `set to ${CURRENT_SPEC_VERSION} (the file declared no version)` });
};

/** Each step of a workflow (a spec with a `steps:` map): its id, its map and its kind. */
function eachStep(root: YAMLMap, visit: (id: string, step: YAMLMap, kind: string | undefined) => void): void {
  const steps = root.get('steps', true);
  if (!isMap(steps)) return;
  for (const pair of steps.items) {
    if (!isPair(pair) || !isMap(pair.value)) continue;
    const step = pair.value;
    const kind = STEP_KINDS.find((k) => step.has(k));
    visit(String(isScalar(pair.key) ? pair.key.value : pair.key), step, kind);
  }
}

/**
 * A human or wait step's own `timeout:` has no effect (validate warns): its deadline is
 * `human.timeout` / `wait.timeout`. The value moves there; it is dropped when that is set already.
 */
const stepTimeoutMoved: Rewrite = ({ doc, root, changes, lineOf }) => {
  eachStep(root, (id, step, kind) => {
    if ((kind !== 'human' && kind !== 'wait') || !step.has('timeout')) return;
    const value = step.get('timeout', true) as Node;
    const line = lineOf(value);
    const block = step.get(kind, true);
    const path = `steps.${id}.timeout`;
    if (isMap(block) && block.has('timeout')) {
      step.delete('timeout');
      changes.push({ rule: 'step_timeout_dropped', path, line, message: `removed: it had no effect, ${kind}.timeout is the step's deadline` });
      return;
    }
    if (isMap(block)) block.set(doc.createNode('timeout'), value);
    else if (block === null || block === undefined || (isScalar(block) && block.value === null)) step.set(kind, doc.createNode({ timeout: value }));
    else return;
    step.delete('timeout');
    changes.push({ rule: 'step_timeout_moved', path, line, message: `moved to steps.${id}.${kind}.timeout, the step's deadline` });
  });
};

/** `input:` of a step that is not an agent, workflow or human step is never read (validate warns): removed. */
const unusedStepInput: Rewrite = ({ root, changes, lineOf }) => {
  eachStep(root, (id, step, kind) => {
    if (kind === undefined || kind === 'agent' || kind === 'workflow' || kind === 'human' || !step.has('input')) return;
    const line = lineOf(step.get('input', true));
    step.delete('input');
    changes.push({ rule: 'unused_step_input', path: `steps.${id}.input`, line, message: `removed: ${kind} steps do not read input` });
  });
};

/**
 * The migration table: from a declared version, the rewrites that bring a file to the next
 * version. After the last, `DEPRECATED_FORMS` tidies what the current version still accepts.
 */
const MIGRATIONS: ReadonlyMap<string, { to: string; rewrites: readonly Rewrite[] }> = new Map([
  [UNVERSIONED, { to: CURRENT_SPEC_VERSION, rewrites: [declareVersion] }],
]);

const DEPRECATED_FORMS: readonly Rewrite[] = [stepTimeoutMoved, unusedStepInput];

function fail(file: string, line: number, message: string): never {
  const diagnostic: Diagnostic = { file, line, column: line > 0 ? 1 : 0, path: line > 0 ? 'version' : '', message, severity: 'error' };
  throw new SpecError([diagnostic]);
}

/**
 * Migrates the text of one spec file. Throws `SpecError` (file:line) for YAML that does not
 * parse, a document that is not a map, or a `version:` this release does not know.
 */
export function migrateSpec(file: string, text: string): SpecMigration {
  const parsed = parseYaml(file, text);
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new SpecError(errors);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const root = doc.contents;
  if (!isMap(root)) fail(file, 0, 'a spec is a YAML map (name:, …); this file is not');
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 0);
  const versionNode = root.get('version', true) as Node | undefined;
  let version = UNVERSIONED;
  if (versionNode !== undefined) {
    const value = isScalar(versionNode) ? versionNode.value : undefined;
    if (typeof value !== 'string' || (value !== CURRENT_SPEC_VERSION && !MIGRATIONS.has(value))) {
      fail(
        file,
        lineOf(versionNode),
        `unknown spec version '${String(value)}': this release reads ${[...MIGRATIONS.keys(), CURRENT_SPEC_VERSION].filter((v) => v !== UNVERSIONED).join(', ')}`,
      );
    }
    version = value;
  }
  const ctx: RewriteContext = { doc, root, changes: [], lineOf };
  let at = version;
  for (let step = MIGRATIONS.get(at); step !== undefined; step = MIGRATIONS.get(at)) {
    for (const rewrite of step.rewrites) rewrite(ctx);
    at = step.to;
  }
  for (const rewrite of DEPRECATED_FORMS) rewrite(ctx);
  const changes = ctx.changes.sort((a, b) => a.line - b.line);
  return { from: version, to: CURRENT_SPEC_VERSION, changes, text: changes.length === 0 ? text : doc.toString() };
}
