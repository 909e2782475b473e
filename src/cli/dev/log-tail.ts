/**
 * `agentry dev logs`: the last lines of a service's log file and, when following, the lines
 * appended after them — across a restart of the service too, which moves the old log aside and
 * starts a new file.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { pause } from '../../lib/sleep.js';

/** How much of the end of a log is read for its last lines. */
const BACKLOG_BYTES = 4 * 1024 * 1024;
const POLL_MS = 200;

interface Position {
  ino: number;
  offset: number;
}

/** The last `lines` complete lines of `file` (0: none), and where the file ends. */
export function lastLines(file: string, lines: number): { text: string; position: Position } {
  const fd = openSync(file, 'r');
  try {
    const { size, ino } = fstatSync(fd);
    const start = Math.max(0, size - BACKLOG_BYTES);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    const all = buffer.toString('utf8').split('\n');
    // What follows the last newline is a line still being written: it is printed when it ends.
    const partial = all.pop()!;
    const complete = start > 0 ? all.slice(1) : all;
    const shown = lines > 0 ? complete.slice(-lines) : [];
    return { text: shown.map((line) => `${line}\n`).join(''), position: { ino, offset: size - Buffer.byteLength(partial) } };
  } finally {
    closeSync(fd);
  }
}

/** Writes each complete line appended to `file` after `from` until `signal` aborts. */
export async function followLines(file: string, from: Position, write: (text: string) => void, signal: AbortSignal): Promise<void> {
  let position = from;
  while (!signal.aborted) {
    let stat: { ino: number; size: number } | undefined;
    try {
      stat = statSync(file);
    } catch {
      stat = undefined; // Between the move of the old log and the new one's creation.
    }
    if (stat !== undefined) {
      // A new file (the service restarted) or a shorter one (truncated): read it from its start.
      if (stat.ino !== position.ino || stat.size < position.offset) position = { ino: stat.ino, offset: 0 };
      if (stat.size > position.offset) position = { ino: stat.ino, offset: position.offset + readLines(file, position.offset, stat.size, write) };
    }
    await pause(POLL_MS, signal);
  }
}

/** Writes the complete lines of `file` between `from` and `to`; returns the bytes they took. */
function readLines(file: string, from: number, to: number, write: (text: string) => void): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    const read = readSync(fd, buffer, 0, buffer.length, from);
    const end = buffer.subarray(0, read).lastIndexOf(0x0a) + 1;
    if (end > 0) write(buffer.subarray(0, end).toString('utf8'));
    return end;
  } finally {
    closeSync(fd);
  }
}
