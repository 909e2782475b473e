/**
 * The application services: one object per resource, each method one use case. The HTTP
 * routes and the CLI's local mode both call these, so they read and change the same things,
 * scope them to the caller the same way, and return the same DTOs.
 *
 *   const services = createServices({ engine, store });
 *   const run = await services.runs.get(caller, runId);
 */
import type { ResolvedBudgets } from '../gateway/config.js';
import type { LogRing } from '../obs/log-ring.js';
import type { ToolHub } from '../tools/hub.js';
import { AdminService } from './admin.js';
import { AuditService } from './audit.js';
import { CredentialService, type CredentialSources } from './credentials.js';
import { EventService } from './events.js';
import { FleetService } from './fleet.js';
import { HealthService } from './health.js';
import type { PluginService } from './plugin-service.js';
import { KeysService, type GrantChecker } from './keys.js';
import { LimitsService } from './limits.js';
import { LogService } from './logs.js';
import { ActivePolicy, policySourcesOf, runStartGate, type PolicySources } from './active-policy.js';
import { PolicyService } from './policy-service.js';
import { MemoryService } from './memory.js';
import { ReadinessService, type ReadinessOptions } from './readiness.js';
import { RunService } from './runs.js';
import { ArtifactService } from './artifacts.js';
import { ScheduleService } from './schedules.js';
import type { ServiceDeps } from './service-deps.js';
import { StatusService } from './status.js';
import { TaskService } from './tasks.js';
import { ToolService } from './tools.js';
import { UsageCallsService } from './usage-calls.js';
import { UsageService } from './usage.js';
import { WorkflowService } from './workflows.js';

export type { ServiceDeps } from './service-deps.js';

export interface Services {
  runs: RunService;
  artifacts: ArtifactService;
  events: EventService;
  tasks: TaskService;
  schedules: ScheduleService;
  usage: UsageService;
  usageCalls: UsageCallsService;
  workflows: WorkflowService;
  tools: ToolService;
  health: HealthService;
  readiness: ReadinessService;
  audit: AuditService;
  keys: KeysService;
  limits: LimitsService;
  credentials: CredentialService;
  fleet: FleetService;
  admin: AdminService;
  status: StatusService;
  logs: LogService;
  policies: PolicyService;
  memory: MemoryService;
  /** The project's plugins; undefined in a process without a project (then none are listed or served). */
  plugins: PluginService | undefined;
}

/** Without the server's role table, a managed key cannot be created (its grants cannot be checked). */
const NO_GRANT_TABLE: GrantChecker = () => ['this process cannot check grants: create keys through the API or `agentry keys create`'];

/**
 * `credentials`: what the credential inventory is taken from (the process's configuration,
 * project and environment); `readiness`: the gateway, bundle and variable lists readiness checks.
 */
export function createServices(
  deps: ServiceDeps & {
    tools?: ToolHub | undefined;
    budgets?: ResolvedBudgets | undefined;
    checkGrants?: GrantChecker;
    credentials?: CredentialSources | undefined;
    readiness?: ReadinessOptions;
    /** The environment policies (default: those of `project`; neither: none apply). */
    policies?: PolicySources | undefined;
    project?: Parameters<typeof policySourcesOf>[0];
    /** The process's recent log lines (`AGENTRY_LOG_BUFFER`); none: `services.logs` answers `not_found`. */
    logRing?: LogRing | undefined;
  },
): Services {
  const audit = new AuditService(deps.store);
  const health = new HealthService(deps);
  const workflows = new WorkflowService(deps);
  // The policies in force: the API's reports and every run start the engine makes from now on.
  const active = new ActivePolicy(deps.store, deps.policies ?? policySourcesOf(deps.project));
  deps.engine.setRunPolicy(runStartGate(active, deps.plugins));
  const policies = new PolicyService(deps, audit, active);
  const tools = new ToolService({ hub: deps.tools, audit, store: deps.store, deploymentTenant: deps.engine.tenant });
  const readiness = new ReadinessService({ health, tools, workflows }, deps.readiness);
  const fleet = new FleetService({ store: deps.store, audit, staleAfterMs: deps.engine.settings.leaseTtlMs * 3, deploymentTenant: deps.engine.tenant });
  const admin = new AdminService({ store: deps.store, engine: deps.engine, audit, plugins: deps.plugins });
  return {
    runs: new RunService(deps, audit),
    artifacts: new ArtifactService(deps),
    events: new EventService(deps.store),
    tasks: new TaskService(deps, audit),
    schedules: new ScheduleService({ store: deps.store, workflows: deps.engine.workflows, audit, tenant: deps.engine.tenant }),
    usage: new UsageService(deps),
    usageCalls: new UsageCallsService(deps.store),
    workflows,
    tools,
    health,
    readiness,
    audit,
    keys: new KeysService({ store: deps.store, audit, checkGrants: deps.checkGrants ?? NO_GRANT_TABLE, defaultTenant: deps.engine.tenant }),
    limits: new LimitsService(deps),
    credentials: new CredentialService(deps.credentials, deps.engine.tenant),
    fleet,
    admin,
    status: new StatusService({ store: deps.store, admin, fleet, readiness }),
    logs: new LogService({ ring: deps.logRing, deploymentTenant: deps.engine.tenant }),
    policies,
    memory: new MemoryService(deps.store, audit),
    plugins: deps.plugins,
  };
}
