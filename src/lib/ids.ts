import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Time-ordered, URL-safe id: `<prefix>_` + 10 chars of milliseconds + 16 random chars (ULID layout). */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let random = '';
  for (const b of randomChunk(16)) random += ALPHABET[b % 32]!;
  return `${prefix}_${time}${random}`;
}

// Random bytes are drawn from the OS in blocks: one call per id costs more than the id itself.
let pool = Buffer.alloc(0);
let offset = 0;

function randomChunk(size: number): Buffer {
  if (offset + size > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += size;
  return pool.subarray(offset - size, offset);
}
