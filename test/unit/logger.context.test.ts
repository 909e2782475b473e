/**
 * The process logger adds the fields of the work in progress (`log-context.ts`) to each line
 * written in it (`src/obs/logger.ts`): the line's own fields win, and the context itself is left
 * as it was for the next line.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { addToLogContext, currentLogContext, withLogContext } from '../../src/obs/log-context.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('log context on every line', () => {
  it("adds the context's fields a line does not set, lets the line's own win and leaves the context unchanged", () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    const record = { event: 'http_request', request_id: 'req-own', status_code: 200 };
    withLogContext({ request_id: 'req-1' }, () => {
      addToLogContext({ tenant_id: 't1' });
      logger.info({ run_id: 'run_1' }, 'step done');
      logger.info(record, 'request');
      logger.child({}, { redact: { paths: [] } }).info({ tenant_id: 'other' }, 'child line');
      expect(currentLogContext()).toEqual({ request_id: 'req-1', tenant_id: 't1' });
    });
    logger.info('outside');
    expect(record).toEqual({ event: 'http_request', request_id: 'req-own', status_code: 200 });
    expect(lines.map(({ msg, run_id, request_id, tenant_id, event }) => ({ msg, run_id, request_id, tenant_id, event }))).toEqual([
      { msg: 'step done', run_id: 'run_1', request_id: 'req-1', tenant_id: 't1', event: undefined },
      { msg: 'request', run_id: undefined, request_id: 'req-own', tenant_id: 't1', event: 'http_request' },
      { msg: 'child line', run_id: undefined, request_id: 'req-1', tenant_id: 'other', event: undefined },
      { msg: 'outside', run_id: undefined, request_id: undefined, tenant_id: undefined, event: undefined },
    ]);
  });
});
