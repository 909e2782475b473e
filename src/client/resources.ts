/**
 * The resource groups besides runs: workflows, tasks, events, schedules, tools, usage, keys,
 * audit, admin (fleet, maintenance, quotas, sweep, info) and who the caller is. Each method is
 * one route (its `operationId` in brackets); listings with a cursor iterate every page.
 */
import type { Client } from 'openapi-fetch';
import { ok } from './call.js';
import type { paths } from './openapi.js';
import { paged, type Paged } from './pages.js';
import type { ApiKey, BodyOf, QueryOf, ResponseOf, Task } from './types.js';

type Api = Client<paths>;
type Item<K extends keyof ResponseTypes> = ResponseTypes[K] extends { items: (infer T)[] } ? T : never;
interface ResponseTypes {
  listTasks: ResponseOf<'listTasks'>;
  listEvents: ResponseOf<'listEvents'>;
  listAuditEntries: ResponseOf<'listAuditEntries'>;
}

export type TaskQuery = Omit<QueryOf<'listTasks'>, 'status'> & { status?: string | readonly string[] };

export class Workflows {
  constructor(private readonly api: Api) {}
  /** The workflows the server has loaded [listWorkflows]. */
  list(): Promise<ResponseOf<'listWorkflows'>> {
    return ok(this.api.GET('/v1/workflows', {}));
  }
  /** Validates a spec without loading it [validateSpec]. */
  validate(body: BodyOf<'validateSpec'>): Promise<ResponseOf<'validateSpec'>> {
    return ok(this.api.POST('/v1/specs/validate', { body }));
  }
}

export class Tasks {
  constructor(private readonly api: Api) {}
  /** Every task matching `query`, across pages [listTasks]. */
  list(query: TaskQuery = {}): Paged<Task> {
    const { cursor, ...rest } = query;
    return paged((next) => this.page({ ...rest, ...(next === undefined ? {} : { cursor: next }) }), cursor);
  }
  page(query: TaskQuery = {}): Promise<ResponseOf<'listTasks'>> {
    const { status, ...rest } = query;
    const statusText = typeof status === 'string' ? status : status?.join(',');
    return ok(this.api.GET('/v1/tasks', { params: { query: { ...rest, ...(statusText ? { status: statusText } : {}) } } }));
  }
  get(id: string): Promise<Task> {
    return ok(this.api.GET('/v1/tasks/{id}', { params: { path: { id } } }));
  }
  /** Decides an open task (approve, reject, submit) [completeTask]; retried safely with an automatic `Idempotency-Key`. */
  complete(id: string, decision: BodyOf<'completeTask'>, options: { idempotencyKey?: string } = {}): Promise<Task> {
    return ok(
      this.api.POST('/v1/tasks/{id}/complete', {
        params: { path: { id }, ...(options.idempotencyKey === undefined ? {} : { header: { 'idempotency-key': options.idempotencyKey } }) },
        body: decision,
      }),
    );
  }
}

export class Events {
  constructor(private readonly api: Api) {}
  /** Events across runs in time order, every page [listEvents]. */
  list(query: QueryOf<'listEvents'> = {}): Paged<Item<'listEvents'>> {
    const { cursor, ...rest } = query;
    return paged((next) => this.page({ ...rest, ...(next === undefined ? {} : { cursor: next }) }), cursor);
  }
  page(query: QueryOf<'listEvents'> = {}): Promise<ResponseOf<'listEvents'>> {
    return ok(this.api.GET('/v1/events', { params: { query } }));
  }
}

export class Schedules {
  constructor(private readonly api: Api) {}
  list(): Promise<ResponseOf<'listSchedules'>> {
    return ok(this.api.GET('/v1/schedules', {}));
  }
  pause(workflow: string): Promise<ResponseOf<'pauseSchedule'>> {
    return ok(this.api.POST('/v1/schedules/{workflow}/pause', { params: { path: { workflow } }, body: {} }));
  }
  resume(workflow: string): Promise<ResponseOf<'resumeSchedule'>> {
    return ok(this.api.POST('/v1/schedules/{workflow}/resume', { params: { path: { workflow } }, body: {} }));
  }
}

export class Tools {
  constructor(private readonly api: Api) {}
  list(): Promise<ResponseOf<'listTools'>> {
    return ok(this.api.GET('/v1/tools', {}));
  }
  get(name: string): Promise<ResponseOf<'getTool'>> {
    return ok(this.api.GET('/v1/tools/{name}', { params: { path: { name } } }));
  }
  disable(name: string, reason: string): Promise<ResponseOf<'disableTool'>> {
    return ok(this.api.POST('/v1/tools/{name}/disable', { params: { path: { name } }, body: { reason } }));
  }
  enable(name: string): Promise<ResponseOf<'enableTool'>> {
    return ok(this.api.POST('/v1/tools/{name}/enable', { params: { path: { name } }, body: {} }));
  }
}

export class Usage {
  constructor(private readonly api: Api) {}
  /** LLM tokens and cost by day, workflow and model [getUsage]. */
  get(query: QueryOf<'getUsage'> = {}): Promise<ResponseOf<'getUsage'>> {
    return ok(this.api.GET('/v1/usage', { params: { query } }));
  }
  budgets(): Promise<ResponseOf<'listBudgets'>> {
    return ok(this.api.GET('/v1/usage/budgets', {}));
  }
}

export class Keys {
  constructor(private readonly api: Api) {}
  /** Issues a key; its secret is in the answer only [createApiKey]. */
  create(body: BodyOf<'createApiKey'>): Promise<ResponseOf<'createApiKey', 201>> {
    return ok(this.api.POST('/v1/admin/keys', { body }));
  }
  list(query: QueryOf<'listApiKeys'> = {}): Paged<ApiKey> {
    const { cursor, ...rest } = query;
    return paged((next) => this.page({ ...rest, ...(next === undefined ? {} : { cursor: next }) }), cursor);
  }
  page(query: QueryOf<'listApiKeys'> = {}): Promise<ResponseOf<'listApiKeys'>> {
    return ok(this.api.GET('/v1/admin/keys', { params: { query } }));
  }
  get(id: string): Promise<ApiKey> {
    return ok(this.api.GET('/v1/admin/keys/{id}', { params: { path: { id } } }));
  }
  revoke(id: string): Promise<ResponseOf<'revokeApiKey'>> {
    return ok(this.api.POST('/v1/admin/keys/{id}/revoke', { params: { path: { id } }, body: {} }));
  }
  rotate(id: string, body: BodyOf<'rotateApiKey'> = {}): Promise<ResponseOf<'rotateApiKey', 201>> {
    return ok(this.api.POST('/v1/admin/keys/{id}/rotate', { params: { path: { id } }, body }));
  }
}

export class Audit {
  constructor(private readonly api: Api) {}
  list(query: QueryOf<'listAuditEntries'> = {}): Paged<Item<'listAuditEntries'>> {
    const { cursor, ...rest } = query;
    return paged((next) => this.page({ ...rest, ...(next === undefined ? {} : { cursor: next }) }), cursor);
  }
  page(query: QueryOf<'listAuditEntries'> = {}): Promise<ResponseOf<'listAuditEntries'>> {
    return ok(this.api.GET('/v1/audit', { params: { query } }));
  }
}

export class Admin {
  constructor(private readonly api: Api) {}
  info(): Promise<ResponseOf<'getAdminInfo'>> {
    return ok(this.api.GET('/v1/admin/info', {}));
  }
  sweep(): Promise<ResponseOf<'runSweep'>> {
    return ok(this.api.POST('/v1/admin/sweep', { body: {} }));
  }
  quotas(): Promise<ResponseOf<'getQuotas'>> {
    return ok(this.api.GET('/v1/admin/quotas', {}));
  }
  workers(): Promise<ResponseOf<'listWorkers'>> {
    return ok(this.api.GET('/v1/admin/workers', {}));
  }
  drainWorker(id: string): Promise<ResponseOf<'drainWorker'>> {
    return ok(this.api.POST('/v1/admin/workers/{id}/drain', { params: { path: { id } }, body: {} }));
  }
  maintenance(): Promise<ResponseOf<'getMaintenance'>> {
    return ok(this.api.GET('/v1/admin/maintenance', {}));
  }
  enterMaintenance(body: BodyOf<'enterMaintenance'> = {}): Promise<ResponseOf<'enterMaintenance'>> {
    return ok(this.api.PUT('/v1/admin/maintenance', { body }));
  }
  exitMaintenance(): Promise<ResponseOf<'exitMaintenance'>> {
    return ok(this.api.DELETE('/v1/admin/maintenance', {}));
  }
  credentials(query: QueryOf<'listCredentials'> = {}): Promise<ResponseOf<'listCredentials'>> {
    return ok(this.api.GET('/v1/security/credentials', { params: { query } }));
  }
}
