/**
 * The SDK's id generator, which can be told the ids of the next span: a run's span is exported
 * when the run ends, possibly by another process than the one that created the run, with the
 * span id stored with the run at its creation (the one its steps' spans already name as
 * their parent).
 */
import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);

function randomHex(bytes: number, invalid: string): string {
  for (;;) {
    const id = randomBytes(bytes).toString('hex');
    if (id !== invalid) return id;
  }
}

export class SpanIds implements IdGenerator {
  private nextTraceId: string | undefined;
  private nextSpanId: string | undefined;

  generateTraceId(): string {
    const id = this.nextTraceId;
    this.nextTraceId = undefined;
    return id ?? randomHex(16, INVALID_TRACE_ID);
  }

  generateSpanId(): string {
    const id = this.nextSpanId;
    this.nextSpanId = undefined;
    return id ?? randomHex(8, INVALID_SPAN_ID);
  }

  /**
   * Runs `start` (which starts one span, synchronously) with these ids: the span id always, the
   * trace id when the span is a root (a span with a parent takes its parent's trace id).
   */
  withIds<T>(ids: { traceId: string; spanId: string }, start: () => T): T {
    this.nextTraceId = ids.traceId;
    this.nextSpanId = ids.spanId;
    try {
      return start();
    } finally {
      this.nextTraceId = undefined;
      this.nextSpanId = undefined;
    }
  }
}
