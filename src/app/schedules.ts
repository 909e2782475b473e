/**
 * Workflow schedules: list, pause, resume. The rows live in the store (shared by every
 * process); a schedule a workflow declares but no scheduler has stored yet is added first, so
 * these work before the first scheduler sweep. A schedule belongs to a tenant (its `tenant:`,
 * else the deployment's): a caller sees and acts on its tenant's schedules only, and another
 * tenant's is `not_found`, exactly like a workflow without a schedule.
 */
import { AgentryError } from '../lib/errors.js';
import { projectWorkflows } from '../spec/builtin.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import { ensureSchedules, nextTick, pauseSchedule, resumeSchedule, scheduleDefinition, syncSchedules } from '../engine/schedules.js';
import type { ScheduleRecord } from '../types.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { scheduleDto, type ScheduleDto } from './dto/schedules.js';

export interface ScheduleDeps {
  store: Store;
  audit: AuditService;
  /** The workflows whose `schedule:` declarations the stored rows follow. */
  workflows: ReadonlyMap<string, CompiledWorkflow>;
  /** The deployment's tenant: of schedules without `tenant:`. */
  tenant: string;
}

/** Whether the caller sees a schedule of `tenantId` (the CLI on its own store without `--tenant` sees every one). */
function visibleTo(caller: Caller, tenantId: string): boolean {
  return caller.tenantId === undefined || caller.tenantId === tenantId;
}

export class ScheduleService {
  constructor(private readonly deps: ScheduleDeps) {}

  /**
   * Brings the stored rows in step with the workflows, as a scheduler does when it starts
   * (rows of workflows without a schedule any more are removed). The CLI does this on the
   * project's store, so a changed `schedule:` shows before any scheduler ran.
   */
  async sync(): Promise<void> {
    await syncSchedules(this.deps.store, this.deps.workflows, Date.now(), { tenant: this.deps.tenant });
  }

  /** The caller's tenant's schedules, by workflow. */
  async list(caller: Caller): Promise<ScheduleDto[]> {
    await this.ensure();
    return (await this.deps.store.listSchedules()).filter((s) => visibleTo(caller, s.tenantId)).map(scheduleDto);
  }

  /** Pauses a schedule: no runs until resumed (pausing a paused one changes nothing). */
  async pause(caller: Caller, workflow: string): Promise<ScheduleDto> {
    return this.deps.audit.audited(caller, 'schedule.pause', `schedule:${workflow}`, async () => {
      await this.visible(caller, workflow);
      return scheduleDto(await pauseSchedule(this.deps.store, workflow));
    });
  }

  /** Resumes a paused schedule from its next tick (ticks passed while paused are not run). */
  async resume(caller: Caller, workflow: string): Promise<ScheduleDto> {
    return this.deps.audit.audited(caller, 'schedule.resume', `schedule:${workflow}`, async () => {
      await this.visible(caller, workflow);
      return scheduleDto(await resumeSchedule(this.deps.store, workflow, Date.now()));
    });
  }

  /** The schedule of `workflow` if the caller sees it; `not_found` naming only the caller's own schedules otherwise. */
  private async visible(caller: Caller, workflow: string): Promise<ScheduleRecord> {
    await this.ensure();
    const schedule = await this.deps.store.getSchedule(workflow);
    if (schedule !== undefined && visibleTo(caller, schedule.tenantId)) return schedule;
    const names = (await this.deps.store.listSchedules()).filter((s) => visibleTo(caller, s.tenantId)).map((s) => s.workflow);
    const known = names.length === 0 ? 'no workflow has a schedule' : `scheduled workflows: ${names.join(', ')}`;
    throw new AgentryError('not_found', `no schedule for workflow '${workflow}' (${known})`, { details: { workflow } });
  }

  private ensure(): Promise<void> {
    return ensureSchedules(this.deps.store, this.deps.workflows, Date.now(), this.deps.tenant);
  }
}

/** What the workflows declare, as schedules from now on: the answer before anything is stored (of `tenant`, when given). */
export function declaredSchedules(
  workflows: ReadonlyMap<string, CompiledWorkflow>,
  deploymentTenant: string,
  tenant?: string,
  now = Date.now(),
): ScheduleDto[] {
  // The built-in workflows declare no schedule.
  return [...projectWorkflows(workflows)]
    .map((wf) => scheduleDefinition(wf, deploymentTenant))
    .filter((d) => d !== undefined)
    .filter((d) => tenant === undefined || d.tenantId === tenant)
    .sort((a, b) => a.workflow.localeCompare(b.workflow))
    .map((d) => scheduleDto({ ...d, paused: false, nextAt: nextTick(d.cron, d.timezone, now), lastTickAt: null, lastRunId: null, updatedAt: now }));
}
