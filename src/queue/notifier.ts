/**
 * In-process wake-ups: a worker waiting for work sleeps until `notify()` or a timeout,
 * whichever comes first. (Across processes, PostgreSQL's LISTEN/NOTIFY calls `notify`.)
 */
export class Notifier {
  private waiters = new Set<() => void>();
  private pending = false;

  notify(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves on the next notify (or one that came since the last wait), or after `ms`. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }
}
