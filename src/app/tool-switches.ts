/**
 * The fleet's tool switches, followed by each process that calls tools: the store's
 * `tool_switches` table is read when the process opens (before it runs any step) and every
 * `TOOL_SWITCH_POLL_MS` after, and applied to the process's `ToolHub`. A disable or enable made
 * through any API process reaches every worker within one poll plus one query (the promise is
 * 5 s) and survives restarts; the process that made it applies it at once.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { ToolHub } from '../tools/hub.js';

/** How often a process reads the switches. */
export const TOOL_SWITCH_POLL_MS = 2_000;

const watches = new WeakMap<ToolHub, ToolSwitchWatch>();

/** The one watch of a hub (made on first use): the poller and the service that changes a switch share its ordering of reads. */
export function toolSwitchWatch(store: Store, hub: ToolHub): ToolSwitchWatch {
  let watch = watches.get(hub);
  if (watch === undefined) {
    watch = new ToolSwitchWatch(store, hub);
    watches.set(hub, watch);
  }
  return watch;
}

export class ToolSwitchWatch {
  private timer: NodeJS.Timeout | undefined;
  /** Reads started, and the newest one applied: an older read that finishes later is not applied over a newer one. */
  private reads = 0;
  private applied = 0;

  constructor(
    private readonly store: Store,
    private readonly hub: ToolHub,
  ) {}

  /** Reads and applies the switches once (a failure throws: the process must not run tools it may not), then keeps polling until `stop()`. */
  async start(logger: Logger, intervalMs: number = TOOL_SWITCH_POLL_MS): Promise<void> {
    await this.sync();
    const outage = new OutageLog(logger, 'reading the tool switches');
    this.stop();
    this.timer = setInterval(() => void this.poll(outage), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the switches and applies them. */
  async sync(): Promise<void> {
    const read = ++this.reads;
    const switches = await this.store.listToolSwitches();
    if (read < this.applied) return;
    this.applied = read;
    this.hub.applySwitches(switches);
  }

  private async poll(outage: OutageLog): Promise<void> {
    try {
      await this.sync();
      outage.ok();
    } catch (error) {
      outage.failed(error);
    }
  }
}
