/**
 * A request refused before its body was read (too large, unparsable content type): its answer
 * must reach the client even though the client is still sending.
 *
 * Fastify answers such a request with `Connection: close`, and Node then closes the socket as soon
 * as the answer is written. The bytes the client sends after that make the kernel reset the
 * connection, and a reset discards what the peer had not read yet — the answer included. A reverse
 * proxy relaying the body (Caddy, nginx) then answers 502 instead of Agentry's 413. So the
 * connection stays open after such an answer and the rest of the body is read and dropped, up to
 * `LIMITS.unreadBodyDrainBytes`; a client that sends more is cut off. (nginx calls this a
 * lingering close.)
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LIMITS } from '../lib/limits.js';

/** Keeps the connection of a request refused before its body was read, and drops the rest of the body (see the module comment). */
export function drainUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete || reply.sent) return;
  reply.removeHeader('connection');
  let dropped = 0;
  const onData = (chunk: Buffer): void => {
    dropped += chunk.length;
    if (dropped > LIMITS.unreadBodyDrainBytes) {
      raw.off('data', onData);
      raw.socket.destroy();
    }
  };
  raw.on('data', onData);
  raw.once('end', () => raw.off('data', onData));
  raw.resume();
}
