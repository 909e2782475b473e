/**
 * The server's recent log lines, kept in memory for `GET /v1/admin/logs` and `agentry logs -f`.
 * The ring sits behind the logger's stream: every line it holds is the line written to stderr,
 * after pino's path redaction and the process's `Redactor` (so a secret that never reaches the
 * log pipeline never reaches the ring either). It holds at most `capacity` lines (the oldest go
 * first) and tells its subscribers of each new one, synchronously and without buffering: a
 * subscriber that cannot keep up buffers, and drops, on its own side.
 */
import type { DestinationStream } from 'pino';

/** The levels a line may have, lowest first (pino's order). */
export const RING_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type RingLevel = (typeof RING_LEVELS)[number];

/** One line of the ring: its position in the process's sequence, its level, and the JSON text as written (no newline). */
export interface RingLine {
  seq: number;
  level: RingLevel;
  line: string;
}

const LEVEL_FIELD = /"level":"(trace|debug|info|warn|error|fatal)"/;

/** Whether a line of level `level` passes a filter of `min` (that level and above). */
export function atLeast(level: RingLevel, min: RingLevel): boolean {
  return RING_LEVELS.indexOf(level) >= RING_LEVELS.indexOf(min);
}

export class LogRing {
  private readonly lines: (RingLine | undefined)[];
  private next = 0;
  private seq = 0;
  private readonly listeners = new Set<(line: RingLine) => void>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a log ring holds at least one line, got ${capacity}`);
    this.lines = new Array<RingLine | undefined>(capacity);
  }

  /** Keeps a written line (pino's text, newline included) and hands it to the subscribers. */
  push(text: string): void {
    const line = text.endsWith('\n') ? text.slice(0, -1) : text;
    // The level is the line's first field (`formatters.level` in logger.ts); a line without one (never from our logger) counts as info.
    const level = (LEVEL_FIELD.exec(line.slice(0, 64))?.[1] as RingLevel | undefined) ?? 'info';
    const record: RingLine = { seq: ++this.seq, level, line };
    this.lines[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // A subscriber's failure is its own; the logger goes on.
      }
    }
  }

  /** The newest `limit` lines at `min` level or above, oldest first. */
  recent(limit: number, min: RingLevel = 'trace'): RingLine[] {
    const found: RingLine[] = [];
    for (let i = 1; i <= this.capacity && found.length < limit; i++) {
      const record = this.lines[(this.next - i + this.capacity) % this.capacity];
      if (record === undefined) break;
      if (atLeast(record.level, min)) found.push(record);
    }
    return found.reverse();
  }

  /** Calls `listener` with every line pushed from now on; returns the unsubscribe function. */
  subscribe(listener: (line: RingLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many subscribers are attached (follow streams open now). */
  get subscribers(): number {
    return this.listeners.size;
  }

  /** A destination that writes to `destination` and keeps each line here too. */
  tee(destination: DestinationStream): DestinationStream {
    return {
      write: (text: string) => {
        destination.write(text);
        this.push(text);
      },
    };
  }
}

/** A ring of `lines` lines, or none when `lines` is 0 (`AGENTRY_LOG_BUFFER=0`: the server keeps no log lines). */
export function logRingFor(lines: number): LogRing | undefined {
  return lines > 0 ? new LogRing(lines) : undefined;
}
