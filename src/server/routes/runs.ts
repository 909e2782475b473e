/** Runs: start (with `Idempotency-Key` and `?wait=`), list, get, diff, cancel, retry (from a step), events, a step's attempts. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { parseDurationText } from '../../lib/duration.js';
import {
  AttemptHistorySchema,
  EventPageSchema,
  RetriedRunSchema,
  RunDetailSchema,
  RunMetadataSchema,
  RunOverridesSchema,
  RunPageSchema,
  RunSchema,
} from '../../app/dto/runs.js';
import { RUN_SEARCH_MAX, type StartOptions } from '../../app/runs.js';
import { RunDiffSchema } from '../../app/dto/run-diff.js';
import { RUN_DIFF_LIMIT } from '../../app/run-diff.js';
import { parseLabelFilter } from '../../app/run-start.js';
import { AgentryError } from '../../lib/errors.js';
import { RUN_STATUSES, type RunStatus } from '../../types.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, REPLAYED_HEADER } from '../idempotency.js';
import { noteRunId } from '../access-log.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { streamEvents, wantsEventStream } from '../sse.js';

/** `?limit=` of a diff (of two runs, of two checkpoints): how many differences at the most. */
export const DIFF_LIMIT = Type.Optional(
  Type.Integer({
    minimum: 1,
    maximum: RUN_DIFF_LIMIT.max,
    default: RUN_DIFF_LIMIT.default,
    description: 'The most differences reported (more: truncated is true)',
  }),
);

const RunId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }) });
const STATUS_LIST = `^(${RUN_STATUSES.join('|')})(,(${RUN_STATUSES.join('|')}))*$`;
const WAIT_PATTERN = '^\\d{1,9}(ms|s|m)?$';
const STEP_ID = Type.String({ minLength: 1, maxLength: 160, description: 'Step id (a for_each item: `step[index]`)' });
const DIFF_PATTERN = '^\\d{1,6},\\d{1,6}$';

/** `?diff=a,b` → `[a, b]` (the pattern has been checked by the schema). */
function parseDiffPair(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const [a, b] = text.split(',').map(Number);
  return [a ?? 0, b ?? 0];
}

function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `${name} is not an ISO 8601 date-time`);
  return ms;
}

/** `?wait=` and the Idempotency-Key header of a start. */
function startQuery(request: { query: { wait?: string | undefined }; headers: Record<string, string | string[] | undefined> }): StartQuery {
  return { wait: request.query.wait, idempotencyKey: request.headers[IDEMPOTENCY_HEADER] };
}

interface StartQuery {
  wait: string | undefined;
  idempotencyKey: string | string[] | undefined;
}

/** What both ways of starting a run take besides what to run. */
const START_FIELDS = {
  input: Type.Optional(Type.Unknown({ description: "Run input (validated against the workflow's input schema); default {}" })),
  priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: 'Higher runs first; default 0' })),
  metadata: Type.Optional(RunMetadataSchema),
  overrides: Type.Optional(RunOverridesSchema),
  deadline: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: "The run's own deadline, instead of the workflow's: a duration from now (30m, 2h) or an ISO 8601 time; past it the run ends timed_out",
    }),
  ),
};

const START_ERRORS = [
  'input_invalid',
  'invalid_idempotency_key',
  'idempotency_conflict',
  'quota_exceeded',
  'maintenance_quiesced',
  'override_not_allowed',
  'payload_too_large',
  'spec_invalid',
  'plugin_disabled',
  'plugin_failed',
] as const;

export function runRoutes(table: RouteTable, deps: ServerDeps): void {
  const { runs } = deps.services;
  const waitQuery = Type.Object({
    wait: Type.Optional(
      Type.String({
        pattern: WAIT_PATTERN,
        description: `Block until the run ends, at most this long (e.g. 30s; capped at ${deps.maxWaitMs / 1000}s); 200 when it ended, 202 when not yet`,
      }),
    ),
  });
  const idempotencyHeaders = Type.Object({
    [IDEMPOTENCY_HEADER]: Type.Optional(Type.String({ description: '1–256 characters; the same key with the same request returns the first run' })),
  });
  const startResponses = {
    200: { ...RunSchema, description: 'With ?wait=: the run ended' },
    201: { ...RunSchema, description: 'The run was created (or replayed for the same Idempotency-Key)' },
    202: { ...RunSchema, description: 'With ?wait=: the run had not ended when the wait passed' },
  };

  /** Starts a run the way `start` does, then answers 201 (200/202 with ?wait=) with its Location. */
  async function startAndReply(
    request: FastifyRequest,
    query: StartQuery,
    reply: FastifyReply,
    body: { input?: unknown; priority?: number; metadata?: Record<string, string>; overrides?: StartOptions['overrides']; deadline?: string },
    start: (input: unknown, options: StartOptions) => ReturnType<typeof runs.start>,
  ): Promise<FastifyReply> {
    const key = parseIdempotencyKey(query.idempotencyKey);
    const waitMs = query.wait === undefined ? undefined : Math.min(parseDurationText(query.wait) ?? 0, deps.maxWaitMs);
    // A wait ends early when the client goes away or the server starts closing. (The
    // response's `close`, not the request's: that one fires once the body has been read.)
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    reply.raw.once('close', onClose);
    try {
      const { run, replayed, ended } = await start(body.input ?? {}, {
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(body.priority === undefined ? {} : { priority: body.priority }),
        ...(body.metadata === undefined ? {} : { metadata: body.metadata }),
        ...(body.overrides === undefined ? {} : { overrides: body.overrides }),
        ...(body.deadline === undefined ? {} : { deadline: body.deadline }),
        ...(waitMs === undefined ? {} : { waitMs, signal: AbortSignal.any([gone.signal, deps.closing]) }),
      });
      reply.header('location', `/v1/runs/${run.id}`);
      noteRunId(request, run.id);
      if (replayed) reply.header(REPLAYED_HEADER, 'true');
      return reply.code(waitMs === undefined ? 201 : ended ? 200 : 202).send(run);
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  table.add({
    method: 'POST',
    url: '/v1/workflows/:name/runs',
    scope: 'runs:write',
    summary: 'Start a run of a workflow (with labels, a deadline and overrides of its overridable settings)',
    tags: ['runs'],
    errors: ['not_found', ...START_ERRORS],
    schema: {
      operationId: 'startWorkflowRun',
      params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Workflow name' }) }),
      querystring: waitQuery,
      headers: idempotencyHeaders,
      body: Type.Object(START_FIELDS, { additionalProperties: false }),
      response: startResponses,
    },
    handler: (request, reply, principal) =>
      startAndReply(request, startQuery(request), reply, request.body, (input, options) => runs.start(principal, request.params.name, input, options)),
  });

  table.add({
    method: 'POST',
    url: '/v1/runs',
    scope: 'specs:write',
    summary: 'Start an ad-hoc run of a workflow spec given inline (validated like a project spec, stored as the run snapshot)',
    tags: ['runs'],
    errors: [...START_ERRORS],
    schema: {
      operationId: 'startAdhocRun',
      querystring: waitQuery,
      headers: idempotencyHeaders,
      body: Type.Object(
        {
          spec: Type.Union([Type.String({ minLength: 1 }), Type.Object({}, { additionalProperties: true })], {
            description: `The workflow spec: YAML text, or the same as a JSON object (at most AGENTRY_MAX_INLINE_SPEC_BYTES, default 256 KiB)`,
          }),
          ...START_FIELDS,
        },
        { additionalProperties: false },
      ),
      response: startResponses,
    },
    handler: (request, reply, principal) =>
      startAndReply(request, startQuery(request), reply, request.body, (input, options) =>
        runs.startAdhoc(principal, request.body.spec as string | Record<string, unknown>, input, options),
      ),
  });

  table.add({
    method: 'GET',
    url: '/v1/runs',
    scope: 'runs:read',
    summary: 'List runs, newest first',
    tags: ['runs'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'listRuns',
      querystring: Type.Object({
        status: Type.Optional(Type.String({ pattern: STATUS_LIST, description: `Comma-separated statuses: ${RUN_STATUSES.join(', ')}` })),
        workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        created_after: Type.Optional(Type.String({ format: 'date-time' })),
        created_before: Type.Optional(Type.String({ format: 'date-time' })),
        label: Type.Optional(
          Type.Array(Type.String({ minLength: 2, maxLength: 320 }), {
            maxItems: 16,
            description: 'key:value; only runs whose metadata has this label (repeat for more: all must match)',
          }),
        ),
        q: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: RUN_SEARCH_MAX,
            description: 'Only runs whose id contains this text (case-insensitive; `%` and `_` match themselves)',
          }),
        ),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: RunPageSchema },
    },
    async handler(request, _reply, principal) {
      const q = request.query;
      const createdAfter = parseTime(q.created_after, 'created_after');
      const createdBefore = parseTime(q.created_before, 'created_before');
      return runs.list(principal, {
        limit: q.limit ?? 50,
        ...(q.status === undefined ? {} : { status: q.status.split(',') as RunStatus[] }),
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(createdAfter === undefined ? {} : { createdAfter }),
        ...(createdBefore === undefined ? {} : { createdBefore }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        ...(q.q === undefined ? {} : { search: q.q }),
        ...(q.label === undefined ? {} : { labels: q.label.map(parseLabelFilter) }),
      });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id',
    scope: 'runs:read',
    summary: 'Get a run with its steps (status, attempt, timings, output, error) and its LLM usage',
    tags: ['runs'],
    errors: ['not_found'],
    schema: { operationId: 'getRun', params: RunId, response: { 200: RunDetailSchema } },
    handler: (request, _reply, principal) => runs.get(principal, request.params.id),
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/diff/:other',
    scope: 'runs:read',
    summary:
      'What differs from run {id} to run {other}: status, input, output, labels, duration, and step by step status, attempts, output, error and duration, as JSON Pointer paths',
    tags: ['runs'],
    errors: ['not_found'],
    schema: {
      operationId: 'diffRuns',
      params: Type.Object({ id: RunId.properties.id, other: Type.String({ minLength: 1, maxLength: 128, description: 'The run to compare it with' }) }),
      querystring: Type.Object({
        limit: DIFF_LIMIT,
      }),
      response: { 200: RunDiffSchema },
    },
    handler: (request, _reply, principal) => runs.diff(principal, request.params.id, request.params.other, request.query.limit ?? RUN_DIFF_LIMIT.default),
  });

  table.add({
    method: 'POST',
    url: '/v1/runs/:id/cancel',
    scope: 'runs:write',
    summary: 'Cancel a run that has not ended (running steps are aborted)',
    tags: ['runs'],
    errors: ['not_found', 'conflict'],
    schema: {
      operationId: 'cancelRun',
      params: RunId,
      body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
      response: { 200: RunSchema },
    },
    handler: (request, _reply, principal) => runs.cancel(principal, request.params.id, request.body.reason),
  });

  table.add({
    method: 'POST',
    url: '/v1/runs/:id/retry',
    scope: 'runs:write',
    summary: 'Re-run an ended run as a new run with the same input, reusing the steps that need not run again',
    tags: ['runs'],
    errors: ['not_found', 'conflict', 'quota_exceeded', 'maintenance_quiesced'],
    schema: {
      operationId: 'retryRun',
      params: RunId,
      // An empty body is `{}` (see app.ts): plain retry.
      body: Type.Object(
        {
          from_step: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 128,
              description:
                'Re-run from this step: it and the steps downstream of it run again, the others are reused (any ended run). ' +
                'Without it: retry from the failed step (failed, cancelled or timed-out runs only)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      response: { 201: RetriedRunSchema },
    },
    async handler(request, reply, principal) {
      const fromStep = request.body.from_step;
      const run = await runs.retry(principal, request.params.id, fromStep === undefined ? {} : { fromStep });
      reply.header('location', `/v1/runs/${run.id}`);
      return reply.code(201).send(run);
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/steps/:step/attempts',
    scope: 'runs:read',
    summary: "A step's attempts across the run and the runs it re-ran (oldest first), optionally with a diff of two of them",
    tags: ['runs'],
    errors: ['not_found'],
    schema: {
      operationId: 'listStepAttempts',
      params: Type.Object({ id: RunId.properties.id, step: STEP_ID }),
      querystring: Type.Object({
        diff: Type.Optional(
          Type.String({ pattern: DIFF_PATTERN, description: '`a,b`: 1-based positions in items; adds what changed in input and output from a to b' }),
        ),
      }),
      response: { 200: AttemptHistorySchema },
    },
    handler: (request, _reply, principal) => runs.attempts(principal, request.params.id, request.params.step, parseDiffPair(request.query.diff)),
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/events',
    scope: 'runs:read',
    summary: 'Events of a run: a JSON page, or a text/event-stream (Accept: text/event-stream) that resumes after Last-Event-ID',
    tags: ['runs'],
    errors: ['not_found'],
    schema: {
      operationId: 'listRunEvents',
      params: RunId,
      querystring: Type.Object({
        after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Events with seq greater than this' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
      }),
      headers: Type.Object({
        'last-event-id': Type.Optional(Type.String({ pattern: '^\\d{1,15}$', description: 'Stream: resume after this seq (overrides ?after=)' })),
      }),
      response: {
        200: {
          description: 'A page of events (application/json) or the event stream (text/event-stream)',
          content: {
            'application/json': { schema: EventPageSchema },
            'text/event-stream': { schema: Type.String({ description: 'id: <seq>\\nevent: <type>\\ndata: <Event JSON>' }) },
          },
        },
      },
    },
    async handler(request, reply, principal) {
      const id = request.params.id;
      const lastEventId = request.headers['last-event-id'];
      const after = lastEventId === undefined ? (request.query.after ?? 0) : Number(lastEventId);
      if (wantsEventStream(request.headers.accept)) {
        await streamEvents(deps, request, reply, { caller: principal, runId: id, after });
        return reply;
      }
      return reply.type('application/json').send(await runs.events(principal, id, after, request.query.limit ?? 100));
    },
  });
}
