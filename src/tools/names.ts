/**
 * Model-facing function names for MCP tools: `<server>__<tool>`. Providers accept
 * `[A-Za-z0-9_-]{1,64}`; a tool name outside that (dots, slashes, too long) is rewritten and
 * given a short hash so it stays unique, and the server's name table maps it back. Server names
 * never contain `__` (the schema forbids it), so the first `__` splits a name.
 */
import { createHash } from 'node:crypto';

export const FUNCTION_SEPARATOR = '__';
const MAX_FUNCTION_NAME = 64;
const SAFE = /^[A-Za-z0-9_-]+$/;

export function functionName(server: string, tool: string): string {
  const plain = `${server}${FUNCTION_SEPARATOR}${tool}`;
  if (SAFE.test(tool) && plain.length <= MAX_FUNCTION_NAME) return plain;
  const hash = createHash('sha256').update(tool).digest('hex').slice(0, 8);
  const room = MAX_FUNCTION_NAME - server.length - FUNCTION_SEPARATOR.length - hash.length - 1;
  const cleaned = tool.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, Math.max(0, room));
  return `${server}${FUNCTION_SEPARATOR}${cleaned}_${hash}`;
}

/** The server and the tool part of a function name; undefined when it has no separator. */
export function splitFunctionName(name: string): { server: string; rest: string } | undefined {
  const at = name.indexOf(FUNCTION_SEPARATOR);
  if (at <= 0) return undefined;
  return { server: name.slice(0, at), rest: name.slice(at + FUNCTION_SEPARATOR.length) };
}
