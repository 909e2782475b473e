/**
 * `{{ expr }}` templates inside spec values. A string that is exactly one template yields the
 * expression's value with its type; a string mixing text and templates yields a string.
 */
import { AgentryError } from '../lib/errors.js';
import { evaluateInCelScope, expressionReferences, throwIfLimit, toCelScope } from './expression.js';
import type { TemplateScope } from './model.js';

type Part = string | { expr: string };

export interface TemplateExpression {
  expr: string;
  /** Where the string holding it sits inside the walked value. */
  path: (string | number)[];
  /** Set when the template itself is malformed (unterminated or empty). */
  error?: string;
}

export interface TemplateReferences {
  steps: Set<string>;
  env: Set<string>;
  expressions: TemplateExpression[];
}

/** Splits a string into text and expressions; throws a plain Error for a malformed template. */
export function splitTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let from = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', from)) {
    if (open > from) parts.push(text.slice(from, open));
    const close = findClose(text, open + 2);
    if (close === -1) throw new Error(`unterminated '{{' at column ${open + 1}`);
    const expr = text.slice(open + 2, close).trim();
    if (expr === '') throw new Error(`empty '{{ }}' at column ${open + 1}`);
    parts.push({ expr });
    from = close + 2;
  }
  if (from < text.length) parts.push(text.slice(from));
  return parts;
}

/** Index of the `}}` closing a template whose body starts at `start`, skipping CEL strings and maps. */
function findClose(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      const quote = text.startsWith(ch.repeat(3), i) ? ch.repeat(3) : ch;
      i += quote.length;
      while (i < text.length && !text.startsWith(quote, i)) i += text[i] === '\\' ? 2 : 1;
      i += quote.length - 1;
    } else if (ch === '{') {
      depth++;
    } else if (ch === '}') {
      if (depth === 0 && text[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  return -1;
}

/** Renders every template in `value` (deeply); throws `AgentryError('expression_error')`. */
export function renderTemplate(value: unknown, scope: TemplateScope): unknown {
  let celScope: Record<string, unknown> | undefined;
  const evaluate = (expr: string): unknown => evaluateInCelScope(expr, (celScope ??= toCelScope(scope)));
  const render = (node: unknown): unknown => {
    if (typeof node === 'string') return renderString(node, evaluate);
    if (Array.isArray(node)) return node.map(render);
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = render(item);
      return out;
    }
    return node;
  };
  return render(value);
}

function renderString(text: string, evaluate: (expr: string) => unknown): unknown {
  if (!text.includes('{{')) return text;
  let parts: Part[];
  try {
    parts = splitTemplate(text);
  } catch (error) {
    throw new AgentryError('expression_error', `template '${text}' is malformed: ${(error as Error).message}`, { cause: error });
  }
  const meaningful = parts.filter((part) => typeof part !== 'string' || part.trim() !== '');
  const only = meaningful[0];
  if (meaningful.length === 1 && only !== undefined && typeof only !== 'string') return evaluate(only.expr);
  return parts.map((part) => (typeof part === 'string' ? part : interpolate(evaluate(part.expr)))).join('');
}

function interpolate(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

/** Every template in `value` and the steps and env variables they read (from the CEL AST). */
export function templateReferences(value: unknown): TemplateReferences {
  const refs: TemplateReferences = { steps: new Set(), env: new Set(), expressions: [] };
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (typeof node === 'string') {
      if (!node.includes('{{')) return;
      let parts: Part[];
      try {
        parts = splitTemplate(node);
      } catch (error) {
        refs.expressions.push({ expr: node, path, error: (error as Error).message });
        return;
      }
      for (const part of parts) {
        if (typeof part === 'string') continue;
        refs.expressions.push({ expr: part.expr, path });
        try {
          const found = expressionReferences(part.expr);
          for (const step of found.steps) refs.steps.add(step);
          for (const name of found.env) refs.env.add(name);
        } catch (error) {
          throwIfLimit(error);
          // A syntax error: reported by checkExpression, contributes no references.
        }
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, [...path, index]));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) visit(item, [...path, key]);
    }
  };
  visit(value, []);
  return refs;
}
