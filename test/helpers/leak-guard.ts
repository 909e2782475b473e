/**
 * Fails a test that leaves a server, socket, child process or file watcher open.
 * Closing is often asynchronous, so the guard waits briefly for the count to settle.
 */
import { afterEach, beforeEach } from 'vitest';

const WATCHED = new Set(['TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap', 'FSEventWrap', 'PipeWrap']);

function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) {
    if (WATCHED.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function leaks(before: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [name, count] of openResources()) {
    const extra = count - (before.get(name) ?? 0);
    if (extra > 0) out.push(`${extra} × ${name}`);
  }
  return out;
}

let baseline = new Map<string, number>();

beforeEach(() => {
  baseline = openResources();
});

afterEach(async () => {
  for (let i = 0; i < 40; i++) {
    if (leaks(baseline).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const found = leaks(baseline);
  if (found.length > 0) throw new Error(`test left resources open: ${found.join(', ')}`);
});
