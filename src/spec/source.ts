/** YAML text → plain data, with every problem placed at a file, line and column. */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { AgentryError } from '../lib/errors.js';
import { LIMITS, specFileSizeError } from '../lib/limits.js';
import { formatPath, type Diagnostic, type PathSegment, type Problem } from './diagnostics.js';
import { yamlNestingBound } from './yaml-depth.js';

export type Locator = (path: readonly PathSegment[], atKey?: boolean) => { line: number; column: number };

export interface ParsedSource {
  /** The document as plain data; undefined when the YAML has errors. */
  data: unknown;
  diagnostics: Diagnostic[];
  locate: Locator;
}

/** YAML problems reported per file: the rest would repeat them, and each is placed in linear time. */
const MAX_YAML_PROBLEMS = 50;

/**
 * Parses one spec file. Throws `payload_too_large` for a file over `LIMITS.specFileBytes` and
 * `limit_exceeded` for one over the node, depth or alias limits: those fail the whole request
 * rather than becoming diagnostics, since nothing after them would be cheap.
 */
export function parseYaml(file: string, text: string): ParsedSource {
  const tooLarge = specFileSizeError(file, text);
  if (tooLarge !== undefined) throw tooLarge;
  // Nesting deep enough to exhaust the parser's stack is refused unparsed (yaml-depth.ts): at
  // that depth V8 may abort the process. The bound over-estimates, so it gets twice the limit.
  if (yamlNestingBound(text, 2 * LIMITS.yamlDepth) > 2 * LIMITS.yamlDepth) {
    throw limitExceeded(file, 'yaml_depth', LIMITS.yamlDepth, `YAML nested more than ${LIMITS.yamlDepth} levels deep`);
  }
  const lineCounter = new LineCounter();
  // yaml's own unique-key check compares every key of a map with every other one (quadratic):
  // `duplicateKeys` does it with a set once the structure is known to be within the limits.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true });
  checkStructure(file, doc.contents);
  const locate: Locator = (path, atKey = false) => locateIn(doc, lineCounter, path, atKey);
  const diagnostics: Diagnostic[] = [];
  const duplicates = duplicateKeys(doc.contents).map((offset) => ({ offset, message: 'Map keys must be unique' }));
  for (const [severity, list] of [
    ['error', [...doc.errors.map((e) => ({ offset: e.pos[0], message: e.message })), ...duplicates]],
    ['warning', doc.warnings.map((w) => ({ offset: w.pos[0], message: w.message }))],
  ] as const) {
    for (const problem of list.slice(0, MAX_YAML_PROBLEMS)) {
      const { line, col } = lineCounter.linePos(problem.offset);
      const message = (problem.message.split('\n')[0] ?? problem.message).replace(/ at line \d+, column \d+:?$/, '');
      diagnostics.push({ file, line, column: col, path: formatPath(pathAtOffset(doc.contents, problem.offset)), message, severity });
    }
    if (list.length > MAX_YAML_PROBLEMS) {
      diagnostics.push({ file, line: 0, column: 0, path: '', message: `and ${list.length - MAX_YAML_PROBLEMS} more YAML problems`, severity });
    }
  }
  const failed = doc.errors.length > 0 || duplicates.length > 0;
  return { data: failed ? undefined : toData(file, doc), diagnostics, locate };
}

function limitExceeded(file: string, limit: string, max: number, message: string, cause?: unknown): AgentryError {
  return new AgentryError('limit_exceeded', `${file}: ${message}`, { details: { file, limit, max }, cause });
}

/** Throws `limit_exceeded` when the document has too many nodes, aliases or levels (walked without recursion). */
function checkStructure(file: string, root: unknown): void {
  let nodes = 0;
  let aliases = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, depth } = top;
    if (node === null || node === undefined) continue;
    if (++nodes > LIMITS.yamlNodes) throw limitExceeded(file, 'yaml_nodes', LIMITS.yamlNodes, `more than ${LIMITS.yamlNodes} YAML nodes`);
    if (isAlias(node) && ++aliases > LIMITS.yamlAliases) {
      throw limitExceeded(file, 'yaml_aliases', LIMITS.yamlAliases, `more than ${LIMITS.yamlAliases} YAML aliases`);
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth + 1 > LIMITS.yamlDepth) throw limitExceeded(file, 'yaml_depth', LIMITS.yamlDepth, `YAML nested more than ${LIMITS.yamlDepth} levels deep`);
    for (const item of node.items) {
      if (isPair(item)) stack.push({ node: item.key, depth: depth + 1 }, { node: item.value, depth: depth + 1 });
      else stack.push({ node: item, depth: depth + 1 });
    }
  }
}

/** Offsets of the scalar keys repeated within their map. */
function duplicateKeys(root: unknown): number[] {
  const offsets: number[] = [];
  const stack: unknown[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const { key, value } of node.items) {
        if (isScalar(key)) {
          if (seen.has(key.value)) offsets.push(key.range?.[0] ?? 0);
          seen.add(key.value);
        }
        stack.push(key, value);
      }
    } else if (isSeq(node)) {
      stack.push(...node.items);
    }
  }
  return offsets.sort((a, b) => a - b);
}

/** The document as plain data; alias expansions past the limit (a "billion laughs") are `limit_exceeded`. */
function toData(file: string, doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: LIMITS.yamlAliases }) as unknown;
  } catch (error) {
    if (error instanceof ReferenceError) {
      throw limitExceeded(file, 'yaml_aliases', LIMITS.yamlAliases, 'YAML aliases expand to too much data', error);
    }
    throw error;
  }
}

export function toDiagnostics(problems: readonly Problem[], file: string, locate: Locator): Diagnostic[] {
  return problems.map((problem) => ({
    file,
    ...locate(problem.path, problem.atKey ?? false),
    path: formatPath(problem.path),
    message: problem.message,
    severity: problem.severity ?? 'error',
  }));
}

function keyOf(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

/** A map's pairs by key (the first of repeated keys), built once per map: placing many diagnostics stays linear. */
function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (index === undefined) {
    index = new Map();
    for (const pair of map.items) {
      const key = keyOf(pair.key);
      if (!index.has(key)) index.set(key, pair);
    }
    pairIndexes.set(map, index);
  }
  return index;
}

/** Line and column of the node at `path` (or of its key), or of the deepest node that exists. */
function locateIn(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], atKey: boolean): { line: number; column: number } {
  let node: unknown = doc.contents;
  let key: unknown;
  let complete = true;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = pairsByKey(node).get(String(segment));
      if (pair === undefined) {
        complete = false;
        break;
      }
      key = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      key = node;
    } else {
      complete = false;
      break;
    }
  }
  const target = (atKey || !complete ? key : node) ?? node;
  const offset = (target as Partial<Node> | null)?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Path of the deepest node whose range holds `offset`. */
function pathAtOffset(node: unknown, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let current = node;
  for (;;) {
    if (isMap(current)) {
      const pair = current.items.find((item) => {
        const start = (item.key as Partial<Node> | null)?.range?.[0];
        const end = (item.value as Partial<Node> | null)?.range?.[2] ?? (item.key as Partial<Node> | null)?.range?.[2];
        return start !== undefined && end !== undefined && offset >= start && offset < end;
      });
      if (pair === undefined) return path;
      path.push(keyOf(pair.key));
      current = pair.value;
    } else if (isSeq(current)) {
      const index = current.items.findIndex((item) => {
        const range = (item as Partial<Node> | null)?.range;
        return range !== undefined && range !== null && offset >= range[0] && offset < range[2];
      });
      if (index === -1) return path;
      path.push(index);
      current = current.items[index];
    } else {
      return path;
    }
  }
}
