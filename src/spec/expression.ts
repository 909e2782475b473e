/**
 * CEL expressions (`when:`, `for_each.from`, `{{ }}` templates) on @marcbachmann/cel-js.
 *
 * CEL has distinct int (BigInt) and double types; JSON has one number type. Values going
 * into CEL have their whole JS numbers turned into ints (so `input.count + 1` works) and
 * values coming out have ints turned back into numbers.
 */
import { Environment, type ASTNode, type ParseResult } from '@marcbachmann/cel-js';
import { AgentryError } from '../lib/errors.js';
import { LIMITS } from '../lib/limits.js';
import type { TemplateScope } from './model.js';

/** Root variables an expression may use (see `TemplateScope`), plus CEL's type names. */
export const SCOPE_VARIABLES = ['input', 'steps', 'run', 'env', 'item', 'index'] as const;
const CEL_IDENTIFIERS = new Set([
  'int',
  'uint',
  'double',
  'bool',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
  'dyn',
  'cel',
  'timestamp',
  'duration',
]);
const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'bind', 'transformList', 'transformMap', 'sortBy']);

const cel = new Environment({
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: LIMITS.expressionNodes, maxDepth: LIMITS.expressionDepth },
});
const CACHE_ENTRIES = 2_000;
/** Parsed expressions by text, oldest first; bounded by entries and by characters of text. */
const cache = new Map<string, ParseResult>();
let cachedChars = 0;

/**
 * The parsed expression (cached); throws cel-js's `ParseError`, or `limit_exceeded` for an
 * expression longer than `LIMITS.expressionLength` (checked before parsing: the parser's own
 * node limit also bounds the depth of the AST that `walk` and the evaluator recurse over).
 */
export function parseExpression(expr: string): ParseResult {
  let parsed = cache.get(expr);
  if (parsed !== undefined) return parsed;
  if (expr.length > LIMITS.expressionLength) {
    throw new AgentryError('limit_exceeded', `expression is ${expr.length} characters long; at most ${LIMITS.expressionLength} are allowed`, {
      details: { limit: 'expression_length', max: LIMITS.expressionLength },
    });
  }
  parsed = cel.parse(expr);
  cache.set(expr, parsed);
  cachedChars += expr.length;
  for (const oldest of cache.keys()) {
    if (cache.size <= CACHE_ENTRIES && cachedChars <= LIMITS.expressionCacheChars) break;
    cache.delete(oldest);
    cachedChars -= oldest.length;
  }
  return parsed;
}

/** Characters of expression text in the cache (for tests of its bound). */
export function expressionCacheChars(): number {
  return cachedChars;
}

/**
 * The CEL syntax error of `expr` (one line, with its column), or undefined when it parses.
 * Throws `limit_exceeded`: an expression over a limit fails the whole request.
 */
export function checkExpression(expr: string): string | undefined {
  try {
    parseExpression(expr);
    return undefined;
  } catch (error) {
    throwIfLimit(error);
    return celMessage(error);
  }
}

/** Rethrows a `limit_exceeded` (ours, or cel-js's node and depth limits) as `limit_exceeded`. */
export function throwIfLimit(error: unknown): void {
  if (error instanceof AgentryError && error.code === 'limit_exceeded') throw error;
  if (error instanceof Error && /^Exceeded max(AstNodes|Depth)/.test(error.message)) {
    const limit = error.message.includes('AstNodes') ? 'expression_nodes' : 'expression_depth';
    const max = limit === 'expression_nodes' ? LIMITS.expressionNodes : LIMITS.expressionDepth;
    const what = limit === 'expression_nodes' ? `more than ${max} operators and operands` : `nesting deeper than ${max} levels`;
    throw new AgentryError('limit_exceeded', `expression has ${what}`, { details: { limit, max }, cause: error });
  }
}

/** Evaluates `expr` over the scope; throws `AgentryError('expression_error')`. */
export function evaluateExpression(expr: string, scope: TemplateScope): unknown {
  return evaluateInCelScope(expr, toCelScope(scope));
}

/**
 * Scope values converted for CEL, to evaluate many expressions over. Each variable, and each
 * step's entry under `steps`, is converted when an expression first reads it: the expression of
 * a `for_each` item that reads `item` does not convert the run's input or every step's output
 * (a list of 10,000 items, for each of the 10,000 items).
 */
export function toCelScope(scope: TemplateScope): Record<string, unknown> {
  return convertedOnRead(scope as unknown as Record<string, unknown>, (value, key) =>
    key === 'steps' && isPlainObject(value) ? convertedOnRead(value, (step) => toCel(step)) : toCel(value),
  );
}

/** An object with the keys of `values` (undefined ones left out) whose values are `convert`ed on first read. */
function convertedOnRead(values: Record<string, unknown>, convert: (value: unknown, key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        const converted = convert(value, key);
        Object.defineProperty(out, key, { value: converted, enumerable: true, configurable: true, writable: false });
        return converted;
      },
    });
  }
  return out;
}

export function evaluateInCelScope(expr: string, celScope: Record<string, unknown>): unknown {
  let result: unknown;
  try {
    result = parseExpression(expr)(celScope) as unknown;
  } catch (error) {
    throw new AgentryError('expression_error', `expression '${expr}' failed: ${celMessage(error)}`, {
      details: { expression: expr },
      cause: error,
    });
  }
  return fromCel(result, expr);
}

function celMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { summary, range } = error as Error & { summary?: string; range?: { start: number } };
  const text = summary ?? error.message.split('\n')[0] ?? error.message;
  return range === undefined ? text : `${text} (at column ${range.start + 1})`;
}

function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toCel(item);
    return out;
  }
  return value;
}

function fromCel(value: unknown, expr: string): unknown {
  if (typeof value === 'bigint') {
    const number = Number(value);
    if (Number.isSafeInteger(number)) return number;
    throw new AgentryError('expression_error', `expression '${expr}' gave the integer ${value}, which is too large for JSON numbers`, {
      details: { expression: expr },
    });
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => fromCel(item, expr));
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value as Map<unknown, unknown>) out[String(key)] = fromCel(item, expr);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = fromCel(item, expr);
    return out;
  }
  // CEL durations (→ milliseconds), unsigned ints, types (→ their name).
  const primitive: unknown = value.valueOf();
  if (typeof primitive === 'bigint' || typeof primitive === 'number') return fromCel(primitive, expr);
  return (value as { toString(): string }).toString();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export interface ExpressionReferences {
  /** Step ids read as `steps.<id>` or `steps["<id>"]`. */
  steps: Set<string>;
  /** Names read as `env.<NAME>` or `env["<NAME>"]`. */
  env: Set<string>;
  /** Free root variables (`input`, `steps`, … or unknown ones), macro variables excluded. */
  variables: Set<string>;
}

/** What a (parsable) expression reads, from its AST; throws `ParseError` when it does not parse. */
export function expressionReferences(expr: string): ExpressionReferences {
  const refs: ExpressionReferences = { steps: new Set(), env: new Set(), variables: new Set() };
  walk(parseExpression(expr).ast, new Set(), refs);
  return refs;
}

function walk(node: ASTNode, bound: ReadonlySet<string>, refs: ExpressionReferences): void {
  switch (node.op) {
    case 'value':
      return;
    case 'id':
      if (!bound.has(node.args) && !CEL_IDENTIFIERS.has(node.args)) refs.variables.add(node.args);
      return;
    case '.':
    case '.?':
      recordMember(node.args[0], node.args[1], bound, refs);
      walk(node.args[0], bound, refs);
      return;
    case '[]':
    case '[?]': {
      const [target, key] = node.args;
      if (key.op === 'value' && typeof key.args === 'string') recordMember(target, key.args, bound, refs);
      walk(target, bound, refs);
      walk(key, bound, refs);
      return;
    }
    case 'call':
      for (const arg of node.args[1]) walk(arg, bound, refs);
      return;
    case 'rcall': {
      const [name, receiver, args] = node.args;
      walk(receiver, bound, refs);
      const inner = new Set(bound);
      if (MACROS.has(name)) {
        // Leading identifier arguments of a macro name its loop variables.
        for (const arg of args.slice(0, -1)) if (arg.op === 'id') inner.add(arg.args);
      }
      for (const arg of args) if (!(arg.op === 'id' && inner.has(arg.args) && !bound.has(arg.args))) walk(arg, inner, refs);
      return;
    }
    case 'list':
      for (const item of node.args) walk(item, bound, refs);
      return;
    case 'map':
      for (const [key, value] of node.args) {
        walk(key, bound, refs);
        walk(value, bound, refs);
      }
      return;
    case '?:':
      for (const part of node.args) walk(part, bound, refs);
      return;
    case '!_':
    case '-_':
      walk(node.args, bound, refs);
      return;
    default:
      walk(node.args[0], bound, refs);
      walk(node.args[1], bound, refs);
  }
}

function recordMember(target: ASTNode, member: string, bound: ReadonlySet<string>, refs: ExpressionReferences): void {
  if (target.op !== 'id' || bound.has(target.args)) return;
  if (target.args === 'steps') refs.steps.add(member);
  if (target.args === 'env') refs.env.add(member);
}
