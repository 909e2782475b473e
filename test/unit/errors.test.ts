import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentryError, ERROR_CODES, toAgentryError } from '../../src/lib/errors.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

describe('error registry', () => {
  it('documents every code in docs/errors.md with its HTTP status and exit code, and nothing else', () => {
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d+) \| (\d) \|/gm)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    const registry = Object.entries(ERROR_CODES).map(([code, e]) => [code, e.status, e.exit]);
    expect(rows.sort()).toEqual(registry.sort());
  });

  it('normalises anything thrown into an AgentryError that keeps the cause', () => {
    const cause = new Error('boom');
    const error = toAgentryError(cause);
    expect(error).toBeInstanceOf(AgentryError);
    expect(error).toMatchObject({ code: 'internal', message: 'boom', cause });
    expect(toAgentryError('text').message).toBe('text');
    const timeout = toAgentryError(new DOMException('late', 'TimeoutError'));
    expect(timeout).toMatchObject({ code: 'step_timeout', retryable: true });
    const known = new AgentryError('conflict', 'x');
    expect(toAgentryError(known)).toBe(known);
  });

  it('serialises to the stored shape without undefined fields', () => {
    expect(new AgentryError('http_status', 'bad', { retryable: true }).toInfo()).toEqual({ code: 'http_status', message: 'bad', retryable: true });
    expect(new AgentryError('not_found', 'gone').toInfo()).toEqual({ code: 'not_found', message: 'gone' });
  });
});
