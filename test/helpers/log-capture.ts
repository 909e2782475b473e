/** The process logger (`createLogger`) writing into memory: each line kept raw and parsed. */
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger, type LogLevel } from '../../src/obs/logger.js';

export type LogLine = Record<string, unknown>;

export interface CapturedLogs {
  logger: Logger;
  /** Every line as written (for checks `JSON.parse` would hide, such as a key written twice). */
  raw: string[];
  lines: LogLine[];
}

export function captureLogs(level: LogLevel = 'info'): CapturedLogs {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      done();
    },
  });
  return { logger: createLogger({ level, destination: sink }), raw, lines };
}

/**
 * The keys written twice in one object of a JSON text, read textually: `JSON.parse` keeps the
 * last of two equal keys without a word, and so does a reviver.
 */
export function duplicateKeys(json: string): string[] {
  const found: string[] = [];
  // One entry per open object (its keys so far) or array (null).
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (keys && expectKey) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) found.push(key);
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      open.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectKey = open.at(-1) !== null && open.length > 0;
    }
  }
  return found;
}
