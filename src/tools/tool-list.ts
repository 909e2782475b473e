/**
 * One server's tool list: the last listing, whether it is still current, and the table from
 * the function names models see (`names.ts`) back to the server's tool names.
 *
 * A server may announce `notifications/tools/list_changed` at any time — the reference server
 * does so right after connecting, while the first listing is in flight. A listing that a
 * change overtook is still a true list of tools the server had: it is kept (and its names
 * mapped), and the server is asked again, so the list that is cached includes what the change
 * added. Listings run one at a time; callers and the refresh a change starts share it. The name
 * table only grows: a function name is a pure function of the tool's name, so an entry is never
 * wrong, and names listed before keep resolving while a refresh is in flight or after a
 * reconnect (a tool the server dropped then fails on the server, as it should).
 */
import { serverAllows } from './allowlist.js';
import { functionName } from './names.js';
import type { ToolDefinition } from './result.js';

/** Listings in a row when changes keep overtaking them; then the last one is kept, marked stale. */
const MAX_PASSES = 3;

export class ToolList {
  private listed: ToolDefinition[] | undefined;
  private stale = true;
  private version = 0;
  private inFlight: Promise<ToolDefinition[]> | undefined;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly server: string,
    private readonly allow: ReadonlySet<string> | undefined,
  ) {}

  /** The last listing while no change or reconnect came after it; undefined otherwise. */
  get current(): ToolDefinition[] | undefined {
    return this.stale ? undefined : this.listed;
  }

  /** The last listing, current or not (undefined before the first). */
  get last(): ToolDefinition[] | undefined {
    return this.listed;
  }

  /** `tools/list_changed`, or a new connection: the next listing asks the server again. */
  changed(): void {
    this.version++;
    this.stale = true;
  }

  /** Lists with `list` (one listing at a time, shared), again while changes overtake it; the server's tools after `allow`. */
  refresh(list: () => Promise<ToolDefinition[]>): Promise<ToolDefinition[]> {
    this.inFlight ??= this.run(list).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The server's name of the tool behind a function name, once a listing has shown it. */
  toolFor(name: string): string | undefined {
    return this.names.get(name);
  }

  private async run(list: () => Promise<ToolDefinition[]>): Promise<ToolDefinition[]> {
    for (let pass = 1; ; pass++) {
      const version = this.version;
      const allowed = (await list()).filter((t) => serverAllows(this.allow, t.name));
      for (const t of allowed) this.names.set(functionName(this.server, t.name), t.name);
      this.listed = allowed;
      const settled = version === this.version;
      if (settled || pass >= MAX_PASSES) {
        this.stale = !settled;
        return allowed;
      }
    }
  }
}
