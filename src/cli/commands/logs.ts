/**
 * `agentry logs [-f] [-n 200] [--level warn] [--json]`: a server's recent log lines — those it
 * wrote on stderr, after redaction, kept in memory (`AGENTRY_LOG_BUFFER`) — and with `-f` every
 * new one as it is written, until Ctrl-C. It needs a server (`AGENTRY_URL` or a profile, with
 * an admin key: scope `logs:read`): a process's log lines live in that process. `--json` prints
 * each line as the server wrote it, one JSON object per line. See docs/operations/logging.md.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { LOG_LEVEL_FILTERS, type LogPageDto } from '../../app/dto/logs.js';
import { MAX_LOG_LIMIT } from '../../app/logs.js';
import { AgentryError } from '../../lib/errors.js';
import { configFrom, out, parseIntegerArg, type CliContext } from '../context.js';
import { RemoteClient } from '../remote.js';

type Level = (typeof LOG_LEVEL_FILTERS)[number];

function parseLevel(value: string): Level {
  if ((LOG_LEVEL_FILTERS as readonly string[]).includes(value)) return value as Level;
  throw new InvalidArgumentError(`must be one of ${LOG_LEVEL_FILTERS.join(', ')}.`);
}

const QUIET_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** `2026-05-04T10:00:00.123Z INFO  [serve] run started {"run_id":"run_…"}`: the fixed fields, then the rest as JSON. */
export function humanLine(record: Record<string, unknown>): string {
  const rest = Object.fromEntries(Object.entries(record).filter(([k]) => !QUIET_FIELDS.has(k) && k !== 'role'));
  const level = typeof record.level === 'string' ? record.level.toUpperCase() : 'INFO';
  const role = typeof record.role === 'string' ? ` [${record.role}]` : '';
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
  return `${typeof record.time === 'string' ? record.time : '-'} ${level.padEnd(5)}${role} ${msg}${extra}`;
}

function print(ctx: CliContext, json: boolean, record: Record<string, unknown>): void {
  out(ctx, json ? JSON.stringify(record) : humanLine(record));
}

/** Server-sent events from a byte stream: each event's name and data (comments and ids skipped). */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

async function follow(ctx: CliContext, remote: RemoteClient, query: string, json: boolean, signal: AbortSignal): Promise<void> {
  const body = await remote.stream(`/v1/admin/logs?follow=true&${query}`, 'text/event-stream');
  try {
    for await (const { event, data } of sseEvents(body)) {
      if (event === 'log') print(ctx, json, JSON.parse(data) as Record<string, unknown>);
      else if (event === 'dropped') throw new AgentryError('not_ready', 'the server dropped this stream: it fell behind the log; run agentry logs -f again');
      if (signal.aborted) return;
    }
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
  if (!signal.aborted) throw new AgentryError('not_ready', `the server at ${remote.url} closed the log stream (stopping?)`);
}

export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("A server's recent log lines (redacted), and with -f every new one until Ctrl-C; needs AGENTRY_URL and an admin key")
    .option('-f, --follow', 'keep printing new lines as the server writes them, until Ctrl-C')
    .option('-n, --lines <n>', `the newest lines to print first (0–${MAX_LOG_LIMIT}, default 200)`, parseIntegerArg(0, MAX_LOG_LIMIT))
    .option('--level <level>', `only lines at this level and above: ${LOG_LEVEL_FILTERS.join(', ')}`, parseLevel)
    .option('--json', 'print each line as the server wrote it: one JSON object per line')
    .addHelpText(
      'after',
      `
The server keeps its last AGENTRY_LOG_BUFFER lines (default 1000) in memory, after redaction; the
full log is its stderr. Set AGENTRY_URL (or --profile) and AGENTRY_API_KEY (an admin key: logs:read).
See docs/operations/logging.md.`,
    )
    .action(async (opts: { follow?: boolean; lines?: number; level?: Level; json?: boolean }) => {
      const config = configFrom(ctx, {});
      if (config.client.url === undefined)
        throw new AgentryError(
          'invalid_request',
          "agentry logs needs a server: set AGENTRY_URL (or --profile) to ask one for its lines; a local server's lines are on its stderr (docs/operations/logging.md)",
        );
      const remote = new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
      const params = new URLSearchParams({ limit: String(opts.lines ?? 200) });
      if (opts.level !== undefined) params.set('level', opts.level);
      const json = opts.json === true;
      if (opts.follow !== true) {
        const page = await remote.request<LogPageDto>('GET', `/v1/admin/logs?${params.toString()}`);
        for (const line of page.items) print(ctx, json, line.record);
        return;
      }
      // Ctrl-C ends the follow: the connection is closed and the command exits 130, like `runs events --follow`.
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const followRemote = new RemoteClient({
        url: config.client.url,
        signal: stop.signal,
        ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }),
      });
      try {
        await follow(ctx, followRemote, params.toString(), json, stop.signal);
        if (stop.signal.aborted) ctx.exitCode = 130;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
