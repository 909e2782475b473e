/**
 * Event streams over a real socket: a client that drops the connection mid-stream and
 * reconnects with `Last-Event-ID` receives every event exactly once, in order, and the stream
 * ends after the run's terminal event.
 */
import { request, type IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listen, startTestApi, type TestApi } from '../helpers/server.js';

let api: TestApi;
let base: string;

beforeEach(async () => {
  api = await startTestApi({ app: { sseHeartbeatMs: 100 } });
  base = await listen(api.app);
});
afterEach(async () => {
  await api.close();
});

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Opens the stream and calls `onFrame` for each frame; resolves when the server ends it or `stop()` is called. */
function openStream(
  runId: string,
  headers: Record<string, string>,
  onFrame: (frame: Frame, stop: () => void) => void,
): Promise<{ status: number; ended: 'server' | 'client'; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/v1/runs/${runId}/events`,
      { headers: { accept: 'text/event-stream', ...api.auth('viewer'), ...headers } },
      (res: IncomingMessage) => {
        let buffer = '';
        let stopped = false;
        const stop = (): void => {
          stopped = true;
          req.destroy();
          resolve({ status: res.statusCode ?? 0, ended: 'client', contentType: String(res.headers['content-type']) });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0 && !stopped; end = buffer.indexOf('\n\n')) {
            const frame: Frame = {};
            for (const line of buffer.slice(0, end).split('\n')) {
              if (line.startsWith(':')) frame.comment = line.slice(1).trim();
              else if (line.startsWith('id: ')) frame.id = line.slice(4);
              else if (line.startsWith('event: ')) frame.event = line.slice(7);
              else if (line.startsWith('data: ')) frame.data = line.slice(6);
            }
            buffer = buffer.slice(end + 2);
            onFrame(frame, stop);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ended: 'server', contentType: String(res.headers['content-type']) }));
        res.on('error', () => undefined);
      },
    );
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

describe('run events as text/event-stream', () => {
  it('delivers every event exactly once, in order, across a disconnect and a Last-Event-ID reconnect', async () => {
    const run = await api.engine.startRun('slow', {});
    const seen: { id: number; event: string; seq: number }[] = [];
    const record = (frame: Frame): void => {
      if (frame.id === undefined) return;
      const data = JSON.parse(frame.data!);
      seen.push({ id: Number(frame.id), event: frame.event!, seq: data.seq });
    };
    // First connection: drop it after the third event, while the run is still going.
    const first = await openStream(run.id, {}, (frame, stop) => {
      record(frame);
      if (seen.length === 3) stop();
    });
    expect(first).toMatchObject({ status: 200, ended: 'client' });
    expect(first.contentType).toMatch(/^text\/event-stream/);
    const lastId = seen.at(-1)!.id;
    expect((await api.store.getRun(run.id))!.status).not.toBe('succeeded');

    const second = await openStream(run.id, { 'last-event-id': String(lastId) }, (frame) => record(frame));
    expect(second).toMatchObject({ status: 200, ended: 'server' });

    const stored = await api.store.listEvents(run.id, 0, 1000);
    expect(stored.at(-1)!.type).toBe('run.succeeded');
    expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.seq));
    expect(seen.map((e) => e.event)).toEqual(stored.map((e) => e.type));
    expect(seen.every((e) => e.id === e.seq)).toBe(true);
  });

  it('ends at once when resumed after the terminal event, and sends heartbeats while a run is quiet', async () => {
    const done = await api.engine.startRun('hello', { name: 'Ada' });
    const ended = await api.engine.waitForRun(done.id, { timeoutMs: 10_000 });
    const frames: Frame[] = [];
    const res = await openStream(done.id, { 'last-event-id': String(ended.eventSeq) }, (frame) => frames.push(frame));
    expect(res.ended).toBe('server');
    expect(frames.filter((f) => f.id !== undefined)).toEqual([]);

    const nap = await api.engine.startRun('nap', {});
    const comments: string[] = [];
    await openStream(nap.id, {}, (frame, stop) => {
      if (frame.comment === 'heartbeat') comments.push(frame.comment);
      if (comments.length === 2) stop();
    });
    expect(comments).toEqual(['heartbeat', 'heartbeat']);
  });

  it('ends open streams when the server closes, so shutdown is not held up', async () => {
    const nap = await api.engine.startRun('nap', {});
    let opened: () => void = () => undefined;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const stream = openStream(nap.id, {}, () => opened());
    await isOpen;
    await api.app.close();
    expect((await stream).ended).toBe('server');
  });
});
