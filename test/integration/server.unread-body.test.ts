/**
 * A body refused before it was read (over the body limit) is drained, not cut off: the client —
 * typically a reverse proxy still relaying the body — reads the 413 and may go on using the
 * connection; a client that sends far more than the drain limit is disconnected.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/lib/limits.js';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let port = 0;

beforeAll(async () => {
  api = await startTestApi({ start: false, app: { maxBodyBytes: 1024 } });
  port = Number(new URL(await listen(api.app)).port);
});
afterAll(async () => {
  await api.close();
});

/** A raw connection whose received text can be awaited. */
function open(): Promise<{ socket: Socket; received: () => string; until: (pattern: RegExp) => Promise<string>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const waiters: (() => void)[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (const wake of waiters.splice(0)) wake();
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    const until = async (pattern: RegExp): Promise<string> => {
      while (!pattern.test(text)) {
        if (socket.destroyed) throw new Error(`connection closed before ${String(pattern)}; received:\n${text}`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          void closed.then(wake);
        });
      }
      return text;
    };
    socket.once('connect', () => resolve({ socket, received: () => text, until, closed }));
    socket.once('error', reject);
  });
}

function write(socket: Socket, data: string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

const head = (length: number): string =>
  `POST /v1/workflows/hello/runs HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${api.auth('admin').authorization!.slice(7)}\r\n` +
  `content-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

describe('a body over the limit', () => {
  it('is answered 413 while the client still sends it, and the connection stays usable afterwards', async () => {
    const conn = await open();
    const length = 256 * 1024;
    await write(conn.socket, head(length) + 'x'.repeat(1024));
    // The answer comes before the body is complete…
    const answer = await conn.until(/\r\n\r\n\{.*\}$/s);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"payload_too_large"');
    expect(answer.toLowerCase()).not.toContain('connection: close');
    // …the rest of the body is taken (not reset), and the same connection serves the next request.
    await write(conn.socket, 'x'.repeat(length - 1024));
    await write(conn.socket, 'GET /livez HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    const both = await conn.until(/HTTP\/1\.1 200 [\s\S]*"status":"ok"/);
    expect(both.match(/HTTP\/1\.1 /g)).toHaveLength(2);
    conn.socket.destroy();
    await conn.closed;
  });

  it('cuts off a client that goes on sending past the drain limit', async () => {
    const conn = await open();
    const length = LIMITS.unreadBodyDrainBytes * 2;
    await write(conn.socket, head(length));
    await conn.until(/^HTTP\/1\.1 413 /);
    const chunk = 'x'.repeat(1024 * 1024);
    let sent = 0;
    while (!conn.socket.destroyed && sent < length) {
      await write(conn.socket, chunk).catch(() => undefined);
      sent += chunk.length;
    }
    await conn.closed;
    expect(sent).toBeGreaterThan(LIMITS.unreadBodyDrainBytes);
    expect(sent).toBeLessThan(length);
  });
});
