/**
 * Workflow schedules: list, pause, resume. The rows live in the store (shared by every
 * process); a schedule a workflow declares but no scheduler has stored yet is added first, so
 * these work before the first scheduler sweep. Schedules belong to the deployment, not to a
 * tenant, so they are not scoped by caller.
 */
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import { ensureSchedules, nextTick, pauseSchedule, resumeSchedule, scheduleDefinition, syncSchedules } from '../engine/schedules.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { scheduleDto, type ScheduleDto } from './dto/schedules.js';

export interface ScheduleDeps {
  store: Store;
  audit: AuditService;
  /** The workflows whose `schedule:` declarations the stored rows follow. */
  workflows: ReadonlyMap<string, CompiledWorkflow>;
}

export class ScheduleService {
  constructor(private readonly deps: ScheduleDeps) {}

  /**
   * Brings the stored rows in step with the workflows, as a scheduler does when it starts
   * (rows of workflows without a schedule any more are removed). The CLI does this on the
   * project's store, so a changed `schedule:` shows before any scheduler ran.
   */
  async sync(): Promise<void> {
    await syncSchedules(this.deps.store, this.deps.workflows, Date.now());
  }

  async list(): Promise<ScheduleDto[]> {
    await this.ensure();
    return (await this.deps.store.listSchedules()).map(scheduleDto);
  }

  /** Pauses a schedule: no runs until resumed (pausing a paused one changes nothing). */
  async pause(caller: Caller, workflow: string): Promise<ScheduleDto> {
    return this.deps.audit.audited(caller, 'schedule.pause', `schedule:${workflow}`, async () => {
      await this.ensure();
      return scheduleDto(await pauseSchedule(this.deps.store, workflow));
    });
  }

  /** Resumes a paused schedule from its next tick (ticks passed while paused are not run). */
  async resume(caller: Caller, workflow: string): Promise<ScheduleDto> {
    return this.deps.audit.audited(caller, 'schedule.resume', `schedule:${workflow}`, async () => {
      await this.ensure();
      return scheduleDto(await resumeSchedule(this.deps.store, workflow, Date.now()));
    });
  }

  private ensure(): Promise<void> {
    return ensureSchedules(this.deps.store, this.deps.workflows, Date.now());
  }
}

/** What the workflows declare, as schedules from now on: the answer before anything is stored. */
export function declaredSchedules(workflows: ReadonlyMap<string, CompiledWorkflow>, now = Date.now()): ScheduleDto[] {
  return [...workflows.values()]
    .map(scheduleDefinition)
    .filter((d) => d !== undefined)
    .sort((a, b) => a.workflow.localeCompare(b.workflow))
    .map((d) => scheduleDto({ ...d, paused: false, nextAt: nextTick(d.cron, d.timezone, now), lastTickAt: null, lastRunId: null, updatedAt: now }));
}
