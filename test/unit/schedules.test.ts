import { describe, expect, it } from 'vitest';
import { decideTick, nextTick, scheduleDefinition, tickKey } from '../../src/engine/schedules.js';
import { checkWorkflow, compileWorkflow, type StepKind } from '../../src/spec/index.js';
import type { ScheduleRecord } from '../../src/types.js';

const AVAILABLE: ReadonlySet<StepKind> = new Set(['transform']);
const at = (iso: string) => Date.parse(iso);
const isoOf = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The ticks after `from`, as ISO strings. */
function ticks(cron: string, timezone: string, from: string, n: number): string[] {
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextTick(cron, timezone, t);
    if (next === null) break;
    out.push(new Date(next).toISOString());
    t = next;
  }
  return out;
}

describe('nextTick', () => {
  it('is strictly after the given instant', () => {
    expect(isoOf(nextTick('* * * * *', 'UTC', at('2025-06-01T10:00:00Z')))).toBe('2025-06-01T10:01:00.000Z');
    expect(isoOf(nextTick('* * * * *', 'UTC', at('2025-06-01T09:59:59.999Z')))).toBe('2025-06-01T10:00:00.000Z');
    expect(isoOf(nextTick('* * * * * *', 'UTC', at('2025-06-01T10:00:00.250Z')))).toBe('2025-06-01T10:00:01.000Z');
  });

  it('reads the expression in the schedule time zone', () => {
    // 09:00 in Berlin is 07:00 UTC in summer (CEST) and 08:00 UTC in winter (CET).
    expect(ticks('0 9 * * *', 'Europe/Berlin', '2025-06-01T12:00:00Z', 1)).toEqual(['2025-06-02T07:00:00.000Z']);
    expect(ticks('0 9 * * *', 'Europe/Berlin', '2025-12-01T12:00:00Z', 1)).toEqual(['2025-12-02T08:00:00.000Z']);
    expect(ticks('0 9 * * 1', 'America/New_York', '2025-06-01T00:00:00Z', 1)).toEqual(['2025-06-02T13:00:00.000Z']);
  });

  it('keeps a daily time across the switch to summer time, a day of 23 hours', () => {
    expect(ticks('0 9 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z', 2)).toEqual(['2025-03-30T07:00:00.000Z', '2025-03-31T07:00:00.000Z']);
  });

  it('runs a daily job whose time falls in the spring-forward gap once, right after the gap', () => {
    // 02:30 does not exist in New York on 2025-03-09: it runs at 03:00 EDT (07:00 UTC) that day.
    expect(ticks('30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z', 3)).toEqual([
      '2025-03-09T07:00:00.000Z',
      '2025-03-10T06:30:00.000Z',
      '2025-03-11T06:30:00.000Z',
    ]);
  });

  it('runs a daily job whose time repeats when clocks fall back only once', () => {
    // 01:30 happens twice in New York on 2025-11-02 (EDT, then EST): one run, at the first.
    expect(ticks('30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z', 2)).toEqual(['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z']);
  });

  it('runs an interval job on both passes through the repeated hour', () => {
    expect(ticks('*/30 * * * *', 'America/New_York', '2025-11-02T04:50:00Z', 5)).toEqual([
      '2025-11-02T05:00:00.000Z', // 01:00 EDT
      '2025-11-02T05:30:00.000Z', // 01:30 EDT
      '2025-11-02T06:00:00.000Z', // 01:00 EST
      '2025-11-02T06:30:00.000Z', // 01:30 EST
      '2025-11-02T07:00:00.000Z', // 02:00 EST
    ]);
  });

  it('is null for an expression that never matches', () => {
    expect(nextTick('0 0 30 2 *', 'UTC', at('2025-01-01T00:00:00Z'))).toBeNull();
  });
});

function schedule(patch: Partial<ScheduleRecord>): ScheduleRecord {
  return {
    workflow: 'report',
    tenantId: 'default',
    cron: '0 * * * *',
    timezone: 'UTC',
    input: {},
    overlap: 'skip',
    catchUp: 'none',
    paused: false,
    nextAt: at('2025-06-01T10:00:00Z'),
    lastTickAt: null,
    lastRunId: null,
    updatedAt: 0,
    ...patch,
  };
}

describe('decideTick', () => {
  it('does nothing before the tick, while paused, or without a next tick', () => {
    expect(decideTick(schedule({}), at('2025-06-01T09:59:59.999Z'))).toBeUndefined();
    expect(decideTick(schedule({ paused: true }), at('2025-06-01T10:30:00Z'))).toBeUndefined();
    expect(decideTick(schedule({ nextAt: null }), at('2025-06-01T10:30:00Z'))).toBeUndefined();
  });

  it('fires a tick that is due and moves to the following one', () => {
    for (const catchUp of ['none', 'one'] as const) {
      const decision = decideTick(schedule({ catchUp }), at('2025-06-01T10:00:00.300Z'));
      expect(decision).toEqual({ kind: 'fire', tick: at('2025-06-01T10:00:00Z'), nextAt: at('2025-06-01T11:00:00Z'), caughtUp: false });
    }
  });

  it('still fires a late tick while the tick after it has not come (one grace window)', () => {
    const decision = decideTick(schedule({}), at('2025-06-01T10:59:59Z'));
    expect(decision).toMatchObject({ kind: 'fire', tick: at('2025-06-01T10:00:00Z'), nextAt: at('2025-06-01T11:00:00Z') });
  });

  it('catch_up none: after missed ticks, runs none of them and waits for the next tick after now', () => {
    const decision = decideTick(schedule({ catchUp: 'none' }), at('2025-06-01T13:20:00Z'));
    expect(decision).toEqual({ kind: 'skip_missed', firstMissed: at('2025-06-01T10:00:00Z'), nextAt: at('2025-06-01T14:00:00Z') });
  });

  it('catch_up one: after missed ticks, runs the most recent one once', () => {
    const decision = decideTick(schedule({ catchUp: 'one' }), at('2025-06-01T13:20:00Z'));
    expect(decision).toEqual({ kind: 'fire', tick: at('2025-06-01T13:00:00Z'), nextAt: at('2025-06-01T14:00:00Z'), caughtUp: true });
  });

  it('catch_up one: a missed tick exactly at now is the one it runs', () => {
    const decision = decideTick(schedule({ catchUp: 'one', cron: '* * * * * *', nextAt: at('2025-06-01T10:00:00Z') }), at('2025-06-01T10:00:05Z'));
    expect(decision).toEqual({ kind: 'fire', tick: at('2025-06-01T10:00:05Z'), nextAt: at('2025-06-01T10:00:06Z'), caughtUp: true });
  });

  it('catch_up one: reads missed ticks in the schedule time zone', () => {
    const decision = decideTick(
      schedule({ catchUp: 'one', cron: '0 9 * * *', timezone: 'Europe/Berlin', nextAt: at('2025-03-28T08:00:00Z') }),
      at('2025-03-31T12:00:00Z'),
    );
    expect(decision).toMatchObject({ kind: 'fire', tick: at('2025-03-31T07:00:00Z'), nextAt: at('2025-04-01T07:00:00Z') });
  });
});

describe('tickKey', () => {
  it('names the workflow and the tick, the same in every process', () => {
    expect(tickKey('report', at('2025-06-01T10:00:00Z'))).toBe('schedule:report:2025-06-01T10:00:00.000Z');
  });
});

describe('schedule: in a workflow spec', () => {
  const spec = (schedule: Record<string, unknown>) => ({ name: 'report', schedule, steps: { a: { transform: 1 } } });
  const problems = (schedule: Record<string, unknown>) =>
    checkWorkflow(spec(schedule), { availableKinds: AVAILABLE }).problems.map((p) => `${p.path.join('.')}: ${p.message}`);

  it('fills in the defaults', () => {
    const wf = compileWorkflow(spec({ cron: ' 0 6 * * * ' }), { availableKinds: AVAILABLE });
    expect(scheduleDefinition(wf)).toEqual({
      workflow: 'report',
      tenantId: 'default',
      cron: '0 6 * * *',
      timezone: 'UTC',
      input: {},
      overlap: 'skip',
      catchUp: 'none',
    });
  });

  it('accepts 5 and 6 fields and nicknames', () => {
    expect(problems({ cron: '*/15 9-17 * * MON-FRI', timezone: 'Europe/Berlin' })).toEqual([]);
    expect(problems({ cron: '*/10 * * * * *' })).toEqual([]);
    expect(problems({ cron: '@daily' })).toEqual([]);
  });

  it('rejects a wrong number of fields, naming the count', () => {
    expect(problems({ cron: '* * * *' })).toEqual([
      expect.stringMatching(/^schedule\.cron: invalid cron expression '\* \* \* \*': it has 4 fields; expected 5 \(minute.*, 6 \(seconds first\)/),
    ]);
    expect(problems({ cron: '0 0 0 1 1 * 2030' })).toEqual([expect.stringContaining('it has 7 fields')]);
    expect(problems({ cron: '2030-01-01T00:00:00' })).toEqual([expect.stringContaining('it has 1 field;')]);
  });

  it('rejects a field out of range, naming the field', () => {
    expect(problems({ cron: '61 * * * *' })).toEqual(["schedule.cron: invalid cron expression '61 * * * *': Invalid value for minute: 61"]);
    expect(problems({ cron: '0 25 * * *' })).toEqual([expect.stringContaining('hour')]);
  });

  it('rejects an expression that never matches', () => {
    expect(problems({ cron: '0 0 30 2 *' })).toEqual([expect.stringContaining('never matches a date')]);
  });

  it('rejects an unknown time zone', () => {
    expect(problems({ cron: '0 * * * *', timezone: 'Mars/Olympus' })).toEqual([
      expect.stringMatching(/^schedule\.timezone: unknown time zone 'Mars\/Olympus'/),
    ]);
  });
});
