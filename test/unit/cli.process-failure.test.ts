/** The `process.failed` line of a server process that stops on an error masks credentials in its message and details. */
import { describe, expect, it } from 'vitest';
import { loggingFailure } from '../../src/cli/process-failure.js';
import { AgentryError } from '../../src/lib/errors.js';

describe('loggingFailure', () => {
  it('logs one process.failed line with the code, and URL credentials masked in the message and the details', async () => {
    const lines: string[] = [];
    const destination = { write: (line: string) => void lines.push(line) };
    const url = 'postgres://agentry:hunter2-secret@db.internal:5432/agentry?sslpassword=also-secret';
    const failure = new AgentryError('store_unavailable', `cannot reach ${url}`, { details: { url, tried: [{ url }] } });
    await expect(loggingFailure('start worker', () => Promise.reject(failure), destination)).rejects.toBe(failure);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('hunter2-secret');
    expect(lines[0]).not.toContain('also-secret');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', event: 'process.failed', command: 'start worker', code: 'store_unavailable' });
    expect(line.details).toEqual({
      url: 'postgres://agentry:***@db.internal:5432/agentry?sslpassword=***',
      tried: [{ url: 'postgres://agentry:***@db.internal:5432/agentry?sslpassword=***' }],
    });
    expect(line.message).toBe('cannot reach postgres://agentry:***@db.internal:5432/agentry?sslpassword=***');
  });

  it('logs nothing when the action succeeds', async () => {
    const lines: string[] = [];
    await loggingFailure('serve', () => Promise.resolve(), { write: (line: string) => void lines.push(line) });
    expect(lines).toEqual([]);
  });
});
