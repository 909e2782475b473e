/** Runs: start (with `Idempotency-Key` and `?wait=`), list, get, cancel, retry (from a step), events, a step's attempts. */
import { Type } from 'typebox';
import { parseDurationText } from '../../app/config.js';
import { AgentryError } from '../../lib/errors.js';
import { RUN_STATUSES, TERMINAL_RUN_STATUSES, type RunRecord, type RunStatus } from '../../types.js';
import { AttemptHistorySchema, attemptHistoryDto, childRunDto, EventSchema, eventDto, RunDetailSchema, RunSchema, runDto, stepDto } from '../dto.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, REPLAYED_HEADER } from '../idempotency.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { streamEvents, wantsEventStream } from '../sse.js';
import { usageTotals } from './usage.js';

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

/** Waits for the run to end, the client to go, or `ms` to pass; returns the run as it is then. */
async function waitForEnd(deps: ServerDeps, run: RunRecord, ms: number, signal: AbortSignal): Promise<RunRecord> {
  const deadline = Date.now() + ms;
  let current = run;
  while (!TERMINAL_RUN_STATUSES.has(current.status) && !signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    if (deps.feed) await deps.feed.wait(run.id, Math.min(left, 250), signal, current.eventSeq);
    else await new Promise((resolve) => setTimeout(resolve, Math.min(left, 50)));
    current = await deps.engine.getRun(run.id);
  }
  return current;
}

export function runRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'POST',
    url: '/v1/workflows/:name/runs',
    scope: 'runs:write',
    summary: 'Start a run of a workflow',
    tags: ['runs'],
    errors: ['not_found', 'input_invalid', 'invalid_idempotency_key', 'idempotency_conflict'],
    schema: {
      params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Workflow name' }) }),
      querystring: Type.Object({
        wait: Type.Optional(Type.String({ pattern: WAIT_PATTERN, description: `Block until the run ends, at most this long (e.g. 30s; capped at ${deps.maxWaitMs / 1000}s); 200 when it ended, 202 when not yet` })),
      }),
      headers: Type.Object({
        [IDEMPOTENCY_HEADER]: Type.Optional(Type.String({ description: '1–256 characters; the same key with the same request returns the first run' })),
      }),
      body: Type.Object(
        {
          input: Type.Optional(Type.Unknown({ description: "Run input (validated against the workflow's input schema); default {}" })),
          priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: 'Higher runs first; default 0' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: { ...RunSchema, description: 'With ?wait=: the run ended' },
        201: { ...RunSchema, description: 'The run was created (or replayed for the same Idempotency-Key)' },
        202: { ...RunSchema, description: 'With ?wait=: the run had not ended when the wait passed' },
      },
    },
    async handler(request, reply) {
      const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_HEADER]);
      const waitMs = request.query.wait === undefined ? undefined : Math.min(parseDurationText(request.query.wait) ?? 0, deps.maxWaitMs);
      const { run, replayed } = await deps.engine.startRunIdempotent(request.params.name, request.body.input ?? {}, {
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(request.body.priority === undefined ? {} : { priority: request.body.priority }),
      });
      reply.header('location', `/v1/runs/${run.id}`);
      if (replayed) reply.header(REPLAYED_HEADER, 'true');
      if (waitMs === undefined) return reply.code(201).send(runDto(run));
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      request.raw.once('close', onClose);
      try {
        const current = await waitForEnd(deps, run, waitMs, AbortSignal.any([gone.signal, deps.closing]));
        return reply.code(TERMINAL_RUN_STATUSES.has(current.status) ? 200 : 202).send(runDto(current));
      } finally {
        request.raw.off('close', onClose);
      }
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs',
    scope: 'runs:read',
    summary: 'List runs, newest first',
    tags: ['runs'],
    errors: [],
    schema: {
      querystring: Type.Object({
        status: Type.Optional(Type.String({ pattern: STATUS_LIST, description: `Comma-separated statuses: ${RUN_STATUSES.join(', ')}` })),
        workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        created_after: Type.Optional(Type.String({ format: 'date-time' })),
        created_before: Type.Optional(Type.String({ format: 'date-time' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: Type.Object({ items: Type.Array(RunSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) }) },
    },
    async handler(request) {
      const q = request.query;
      const createdAfter = parseTime(q.created_after, 'created_after');
      const createdBefore = parseTime(q.created_before, 'created_before');
      const page = await deps.store.listRuns({
        limit: q.limit ?? 50,
        ...(q.status === undefined ? {} : { status: q.status.split(',') as RunStatus[] }),
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(createdAfter === undefined ? {} : { createdAfter }),
        ...(createdBefore === undefined ? {} : { createdBefore }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      return { items: page.items.map(runDto), next_cursor: page.nextCursor };
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id',
    scope: 'runs:read',
    summary: 'Get a run with its steps (status, attempt, timings, output, error) and its LLM usage',
    tags: ['runs'],
    errors: ['not_found'],
    schema: { params: RunId, response: { 200: RunDetailSchema } },
    async handler(request) {
      const id = request.params.id;
      const [{ run, steps }, usage, children] = await Promise.all([deps.engine.getRunWithSteps(id), deps.store.usage({ runId: id }), deps.engine.childRuns(id)]);
      return { ...runDto(run), steps: steps.map(stepDto), children: children.map(childRunDto), usage: usageTotals(usage) };
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/runs/:id/cancel',
    scope: 'runs:write',
    summary: 'Cancel a run that has not ended (running steps are aborted)',
    tags: ['runs'],
    errors: ['not_found', 'conflict'],
    schema: {
      params: RunId,
      body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, { additionalProperties: false }),
      response: { 200: RunSchema },
    },
    async handler(request, _reply, principal) {
      const reason = request.body.reason ?? `cancelled by ${principal.name}`;
      return runDto(await deps.engine.cancelRun(request.params.id, reason));
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/runs/:id/retry',
    scope: 'runs:write',
    summary: 'Re-run an ended run as a new run with the same input, reusing the steps that need not run again',
    tags: ['runs'],
    errors: ['not_found', 'conflict'],
    schema: {
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
      response: { 201: Type.Object({ ...RunSchema.properties, retry_of: Type.String() }, { title: 'RetriedRun' }) },
    },
    async handler(request, reply) {
      const fromStep = request.body.from_step;
      const run = await deps.engine.retryRun(request.params.id, fromStep === undefined ? {} : { fromStep });
      reply.header('location', `/v1/runs/${run.id}`);
      return reply.code(201).send({ ...runDto(run), retry_of: request.params.id });
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
      params: Type.Object({ id: RunId.properties.id, step: STEP_ID }),
      querystring: Type.Object({
        diff: Type.Optional(Type.String({ pattern: DIFF_PATTERN, description: "`a,b`: 1-based positions in items; adds what changed in input and output from a to b" })),
      }),
      response: { 200: AttemptHistorySchema },
    },
    async handler(request) {
      const attempts = await deps.engine.stepAttempts(request.params.id, request.params.step);
      return attemptHistoryDto(attempts, parseDiffPair(request.query.diff));
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/events',
    scope: 'runs:read',
    summary: 'Events of a run: a JSON page, or a text/event-stream (Accept: text/event-stream) that resumes after Last-Event-ID',
    tags: ['runs'],
    errors: ['not_found'],
    schema: {
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
            'application/json': { schema: Type.Object({ items: Type.Array(EventSchema), next_after: Type.Integer({ description: 'Pass as ?after= for the next page' }) }) },
            'text/event-stream': { schema: Type.String({ description: 'id: <seq>\\nevent: <type>\\ndata: <Event JSON>' }) },
          },
        },
      },
    },
    async handler(request, reply) {
      const run = await deps.engine.getRun(request.params.id);
      const lastEventId = request.headers['last-event-id'];
      const after = lastEventId === undefined ? (request.query.after ?? 0) : Number(lastEventId);
      if (wantsEventStream(request.headers.accept)) {
        await streamEvents(deps, request, reply, run.id, after);
        return reply;
      }
      const events = await deps.store.listEvents(run.id, after, request.query.limit ?? 100);
      return reply.type('application/json').send({ items: events.map(eventDto), next_after: events.at(-1)?.seq ?? after });
    },
  });
}
