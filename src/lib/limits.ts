/**
 * What one request may make Agentry parse, hold and walk. Each limit sits above anything a real
 * spec or run input needs and below what would exhaust the stack, the heap or the event loop
 * (docs/security.md, "Limits on what a request can cost", says why each value).
 */
import { AgentryError } from './errors.js';

export const LIMITS = {
  /** Characters in one CEL expression (`when:`, `for_each.from`, one `{{ }}`). */
  expressionLength: 4_096,
  /** AST nodes of one expression: bounds the depth of `1+1+…`, which parenthesis depth does not. */
  expressionNodes: 1_000,
  /** Nesting of calls, selects, indexes and literals inside one expression. */
  expressionDepth: 64,
  /** Characters of expression text the parsed-expression cache holds (the ASTs grow with it). */
  expressionCacheChars: 512 * 1024,
  /** Bytes of one spec file. */
  specFileBytes: 256 * 1024,
  /** Files in one `POST /v1/specs/validate`. */
  specFiles: 200,
  /** Nodes (scalars, maps, sequences, aliases) of one YAML file. */
  yamlNodes: 20_000,
  /** Nesting of maps and sequences in one YAML file. */
  yamlDepth: 64,
  /** Aliases (`*name`) in one YAML file, and the alias expansions `toJS` may make. */
  yamlAliases: 100,
  /**
   * Bytes of a refused request's body (over `AGENTRY_MAX_BODY_BYTES`, a content type not accepted)
   * read and dropped after the answer, so that a proxy still relaying it reads the answer instead
   * of a reset (`server/unread-body.ts`); a client sending more is cut off.
   */
  unreadBodyDrainBytes: 16 * 1024 * 1024,
  /** Nesting of arrays and objects in a JSON request body. */
  jsonDepth: 64,
  /** Milliseconds one spec validation may take in its worker before the worker is ended. */
  validationMs: 10_000,
  /** Megabytes of heap the spec validation worker may use. */
  validationHeapMb: 256,
  /** Validations waiting for the worker; more are answered `rate_limited`. */
  validationQueue: 32,
} as const;

/** True when `value` nests arrays and objects deeper than `max` (walked without recursion). */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, depth } = top;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

/** A `limit_exceeded` error when `value` (JSON data) nests deeper than `LIMITS.jsonDepth`, else undefined. */
export function jsonDepthError(value: unknown, what: string): AgentryError | undefined {
  if (!nestsDeeperThan(value, LIMITS.jsonDepth)) return undefined;
  return new AgentryError('limit_exceeded', `${what} nests arrays and objects more than ${LIMITS.jsonDepth} levels deep`, {
    details: { limit: 'json_depth', max: LIMITS.jsonDepth },
  });
}

/** A `payload_too_large` error when a spec file's text is over `LIMITS.specFileBytes`, else undefined. */
export function specFileSizeError(file: string, text: string): AgentryError | undefined {
  const bytes = Buffer.byteLength(text);
  if (bytes <= LIMITS.specFileBytes) return undefined;
  return new AgentryError('payload_too_large', `${file} is ${bytes} bytes; a spec file may have at most ${LIMITS.specFileBytes}`, {
    details: { file, limit: 'spec_file_bytes', max: LIMITS.specFileBytes },
  });
}
