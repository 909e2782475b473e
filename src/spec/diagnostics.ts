/**
 * How spec problems are reported: a `Problem` is found against a path in a plain object;
 * the loader turns it into a `Diagnostic` with the file, line and column of that path.
 */
import { AgentryError } from '../lib/errors.js';

export type PathSegment = string | number;

export interface Diagnostic {
  /** Relative to the project directory (or as given to `compileWorkflow`). */
  file: string;
  /** 1-based; 0 when the spec did not come from a file. */
  line: number;
  column: number;
  /** Dotted path, array items as `[i]`: `steps.fetch.needs[0]`; `''` for the root. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

/** A problem found in a spec object, before it is placed in a file. */
export interface Problem {
  path: PathSegment[];
  message: string;
  /** Point at the key of `path` (unknown field, missing field under it) rather than its value. */
  atKey?: boolean;
  severity?: 'error' | 'warning';
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `workflows/demo.yaml:12:5 steps.fetch.http.url: must be string` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const warning = d.severity === 'warning' ? 'warning: ' : '';
  const head = d.path === '' ? where : `${where} ${d.path}`;
  return `${head}: ${warning}${d.message}`;
}

export class SpecError extends AgentryError {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[], options: { cause?: unknown } = {}) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    const message = first === undefined ? 'spec is invalid' : `${formatDiagnostic(first)}${more}`;
    super('spec_invalid', message, { details: { diagnostics }, cause: options.cause });
    this.name = 'SpecError';
    this.diagnostics = diagnostics;
  }
}

export function hasErrors(items: ReadonlyArray<{ severity?: 'error' | 'warning' }>): boolean {
  return items.some((item) => (item.severity ?? 'error') === 'error');
}

/** ` (did you mean 'x'?)` for the closest candidate within a small edit distance, else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = (word.length <= 3 ? 1 : Math.max(2, Math.ceil(word.length * 0.4))) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
