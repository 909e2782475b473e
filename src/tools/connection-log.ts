/**
 * The log lines of one tool server's connection (`connection.ts`): connected, lost,
 * restarting, reconnected, failed for good (restart budget used up), disabled and enabled.
 * Each names the server and its `event` (docs/operations/logging.md); a stdio server's child
 * process is `server_pid` (`pid` is this process's, on every line).
 */
import type { Logger } from 'pino';
import type { ToolTransport } from './config.js';

export class ConnectionLog {
  constructor(
    private readonly logger: Logger | undefined,
    private readonly server: string,
    private readonly transport: ToolTransport,
  ) {}

  connected(serverPid: number | undefined, restarts: number, restarted: boolean): void {
    const fields = { server: this.server, transport: this.transport, server_pid: serverPid, restarts };
    if (restarted) this.logger?.info({ event: 'tool_server.reconnected', ...fields }, 'tool server reconnected');
    else this.logger?.info({ event: 'tool_server.connected', ...fields }, 'tool server connected');
  }

  connectFailed(message: string, restarts: number): void {
    this.logger?.warn({ event: 'tool_server.connect_failed', server: this.server, transport: this.transport, restarts, message }, 'tool server connect failed');
  }

  lost(message: string): void {
    this.logger?.warn({ event: 'tool_server.lost', server: this.server, transport: this.transport, message }, 'tool server connection lost');
  }

  restarting(restarts: number, waitedMs: number): void {
    this.logger?.warn(
      { event: 'tool_server.restarting', server: this.server, transport: this.transport, restarts, waited_ms: waitedMs },
      'tool server restarting',
    );
  }

  /** The restart budget is used up: no more restarts until it is enabled again or the window passes. */
  failed(message: string, restarts: number): void {
    this.logger?.error(
      { event: 'tool_server.failed', server: this.server, transport: this.transport, restarts, message },
      'tool server failed: restart budget used up',
    );
  }

  disabled(reason: string): void {
    this.logger?.warn({ event: 'tool_server.disabled', server: this.server, reason }, 'tool server disabled');
  }

  enabled(): void {
    this.logger?.info({ event: 'tool_server.enabled', server: this.server }, 'tool server enabled');
  }
}
