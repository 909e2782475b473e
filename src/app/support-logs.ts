/**
 * `errors.log` of a support bundle: the recent warning and error lines of the log files an
 * operator names (`--log-file`, repeatable). Agentry itself logs to stdout/stderr — to the
 * journal under systemd, to the container runtime's log in a container — and keeps no file of
 * its own, so the bundle reads only what it is given (e.g. `journalctl -u agentry > agentry.log`).
 * JSON lines (pino) count from level 40 (`warn`); other lines when they say warn, error or fatal.
 * The bundle's redactor masks what they hold on the way into the archive.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** How much of the end of each file is read. */
const TAIL_BYTES = 8 * 1024 * 1024;
/** Lines kept per file, the most recent. */
export const MAX_PROBLEM_LINES = 2000;

const WORDS = /\b(warn|warning|error|err|fatal|panic|critical)\b/i;

function tail(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // A cut first line is dropped.
    return size > length ? text.slice(text.indexOf('\n') + 1) : text;
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    closeSync(fd);
  }
}

/** Whether a log line is a warning or worse. */
export function isProblemLine(line: string): boolean {
  if (line.startsWith('{')) {
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      if (typeof level === 'number') return level >= 40;
      if (typeof level === 'string') return WORDS.test(level);
    } catch {
      // Not JSON after all: judged by its words.
    }
  }
  return WORDS.test(line);
}

/** The text of errors.log: per file, its most recent problem lines; without files, what to pass. */
export function recentProblems(files: readonly string[]): Promise<string> {
  if (files.length === 0) {
    return Promise.resolve(
      'No log file was given (--log-file <path>), so no log lines were collected.\n' +
        'Agentry logs to stdout/stderr and keeps no log file of its own. To include its recent warnings and errors,\n' +
        'save them to a file and pass it, e.g.: journalctl -u agentry --since -1h > agentry.log (systemd),\n' +
        'docker logs agentry > agentry.log 2>&1 (a container), kubectl logs deploy/agentry-api > agentry.log (Kubernetes).\n',
    );
  }
  const sections = files.map((file) => {
    const lines = tail(file)
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '' && isProblemLine(l));
    const kept = lines.slice(-MAX_PROBLEM_LINES);
    const note = lines.length > kept.length ? `, the last ${kept.length} of ${lines.length}` : '';
    return [`# ${file}: ${kept.length} warning/error line(s)${note}`, ...kept].join('\n');
  });
  return Promise.resolve(`${sections.join('\n\n')}\n`);
}
