/** YAML text → plain data, with every problem placed at a file, line and column. */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { formatPath, type Diagnostic, type PathSegment, type Problem } from './diagnostics.js';

export type Locator = (path: readonly PathSegment[], atKey?: boolean) => { line: number; column: number };

export interface ParsedSource {
  /** The document as plain data; undefined when the YAML has errors. */
  data: unknown;
  diagnostics: Diagnostic[];
  locate: Locator;
}

export function parseYaml(file: string, text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const locate: Locator = (path, atKey = false) => locateIn(doc, lineCounter, path, atKey);
  const diagnostics: Diagnostic[] = [];
  for (const [severity, list] of [
    ['error', doc.errors],
    ['warning', doc.warnings],
  ] as const) {
    for (const problem of list) {
      const offset = problem.pos[0];
      const { line, col } = lineCounter.linePos(offset);
      const message = (problem.message.split('\n')[0] ?? problem.message).replace(/ at line \d+, column \d+:?$/, '');
      diagnostics.push({ file, line, column: col, path: formatPath(pathAtOffset(doc.contents, offset)), message, severity });
    }
  }
  const failed = doc.errors.length > 0;
  return { data: failed ? undefined : (doc.toJS({ maxAliasCount: 100 }) as unknown), diagnostics, locate };
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

/** Line and column of the node at `path` (or of its key), or of the deepest node that exists. */
function locateIn(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], atKey: boolean): { line: number; column: number } {
  let node: unknown = doc.contents;
  let key: unknown;
  let complete = true;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => keyOf(item.key) === String(segment));
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
