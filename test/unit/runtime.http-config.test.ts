import { describe, expect, it } from 'vitest';
import { stepContext } from '../helpers/step-context.js';
import { AgentryError } from '../../src/lib/errors.js';
import { httpExecutor } from '../../src/runtime/index.js';

const ctx = stepContext({ stepId: 'call' });

async function failure(config: unknown): Promise<AgentryError> {
  const error: unknown = await httpExecutor.execute(config, ctx).catch((e: unknown) => e);
  if (!(error instanceof AgentryError)) throw new Error(`expected an AgentryError, got ${String(error)}`);
  return error;
}

describe('http executor: rendered config validation', () => {
  it.each([
    ['a non-http scheme', { url: 'file:///etc/passwd' }],
    ['an ftp url', { url: 'ftp://example.com/x' }],
    ['a url that is not a string after rendering', { url: 42 }],
    ['a relative url', { url: '/relative' }],
    ['a missing config', null],
    ['an unknown field', { url: 'http://127.0.0.1/', methdo: 'GET' }],
    ['a bad timeout', { url: 'http://127.0.0.1/', timeout: 'soon' }],
    ['a GET with a body', { url: 'http://127.0.0.1/', method: 'GET', body: { a: 1 } }],
    ['a method that is not a token', { url: 'http://127.0.0.1/', method: 'GE T' }],
    ['headers that are not scalars', { url: 'http://127.0.0.1/', headers: { x: { y: 1 } } }],
    ['query values that are objects', { url: 'http://127.0.0.1/', query: { q: { nested: true } } }],
    ['a negative max_response_bytes', { url: 'http://127.0.0.1/', max_response_bytes: -1 }],
    ['a bad expect_status', { url: 'http://127.0.0.1/', expect_status: ['200'] }],
  ])('rejects %s as a permanent invalid_request', async (_label, config) => {
    const error = await failure(config);
    expect(error.code).toBe('invalid_request');
    expect(error.retryable).toBe(false);
  });

  it('names an invalid header without echoing its value', async () => {
    const error = await failure({ url: 'http://127.0.0.1/', headers: { Authorization: 'Bearer sk-secret\r\nx: y' } });
    expect(error.message).toContain('Authorization');
    expect(error.message).not.toContain('sk-secret');
  });

  it('leaves credentials in the url out of error messages', async () => {
    const error = await failure({ url: 'http://user:hunter2@169.254.169.254/?token=abc' });
    expect(error.code).toBe('egress_denied');
    const refused = await failure({ url: 'ftp://user:hunter2@example.com/?token=abc' });
    expect(`${error.message} ${refused.message}`).not.toMatch(/hunter2|token=abc/);
  });
});
