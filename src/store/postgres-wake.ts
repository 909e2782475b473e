/**
 * Cross-process wake-ups over PostgreSQL `LISTEN/NOTIFY`. A process that makes work due
 * publishes `NOTIFY agentry_wake`; every subscribed process holds one dedicated session
 * (LISTEN needs a session of its own: not a pooled connection) that calls its subscribers.
 * The session reconnects with backoff after any error and then wakes its subscribers once,
 * since notifications sent while it was away are lost. Workers keep a slow poll anyway.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { OutageLog, reconnectDelayMs } from './transient.js';

export const WAKE_CHANNEL = 'agentry_wake';

export class WakeListener {
  private readonly subscribers = new Set<() => void>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private failures = 0;
  private connectedOnce = false;
  private readonly outage: OutageLog;

  constructor(
    private readonly config: pg.ClientConfig,
    logger: Logger,
  ) {
    this.outage = new OutageLog(logger, 'wake-up listener');
  }

  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    if (!this.active) {
      this.active = true;
      void this.connect();
    }
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) void this.stop();
    };
  }

  /** Ends the listening session (also when subscribers remain: the store is closing). */
  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private wakeAll(): void {
    for (const fn of this.subscribers) fn();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (!this.active) return;
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('Connection terminated')));
    client.on('notification', (message) => {
      if (message.channel === WAKE_CHANNEL) this.wakeAll();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return; // stopped or lost meanwhile
    this.failures = 0;
    this.outage.ok();
    // Wake-ups published while we were not listening are gone: look for work once.
    if (this.connectedOnce) this.wakeAll();
    this.connectedOnce = true;
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.active) return;
    this.outage.failed(error);
    this.failures++;
    this.timer = setTimeout(() => void this.connect(), reconnectDelayMs(this.failures, 100, 5_000));
  }
}
