/**
 * Named types over the generated ones (`openapi.ts`): an operation's JSON answer, query and
 * body by its `operationId`, and the records the resource methods return.
 */
import type { operations } from './openapi.js';

export type OperationId = keyof operations;

/** The JSON body of `operation`'s answer with `status` (default 200). */
export type ResponseOf<K extends OperationId, S extends number = 200> =
  operations[K]['responses'] extends Record<S, { content: { 'application/json': infer T } }> ? T : never;

/** `operation`'s query parameters (`tenant` is set by the client's `tenant` option). */
export type QueryOf<K extends OperationId> = operations[K]['parameters'] extends { query?: infer Q } ? Omit<NonNullable<Q>, 'tenant'> : never;

/** `operation`'s JSON request body. */
export type BodyOf<K extends OperationId> = operations[K] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Run = ResponseOf<'startWorkflowRun', 201>;
export type RunDetail = ResponseOf<'getRun'>;
export type RunPage = ResponseOf<'listRuns'>;
export type RunEvent = ResponseOf<'listRunEvents'>['items'][number];
/** A change of a run (`GET /v1/runs/stream`): a run-level event with the run as listed. */
export type RunChange = ResponseOf<'streamRunChanges'>['items'][number];
export type RetriedRun = ResponseOf<'retryRun', 201>;
export type Task = ResponseOf<'getTask'>;
export type ApiKey = ResponseOf<'getApiKey'>;
export type IssuedKey = ResponseOf<'createApiKey', 201>;

/** The run states in which a run has ended. */
export const TERMINAL_RUN_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
/** The events that end a run's event stream. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);
