/** What one of this process's engine loops (the worker pool's, the scheduler's) is doing: readiness reads it. */
export interface LoopStatus {
  /** `stopping` once `stop()` was called: it lets running work finish and takes no more. */
  state: 'running' | 'stopping';
  /** When the loop last finished a round, whether or not the round succeeded; undefined before its first. */
  lastRoundAt: number | undefined;
  /** When the round in progress began; undefined between rounds. */
  roundStartedAt: number | undefined;
  /** Why the last round failed (the database was unreachable…); undefined when it succeeded. */
  lastError: string | undefined;
  /** The longest a healthy loop waits between two rounds. */
  intervalMs: number;
}
