/**
 * The spans of one process, exported to an in-memory exporter: a run's span and its step
 * attempts, a child run in its parent's trace, the platform spans (claims, a human task's resume
 * lock), MCP tool calls with and without their arguments and results (redacted), and log lines
 * written inside a span carrying its ids.
 */
import { Writable } from 'node:stream';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { Gateway, InMemoryUsageLedger } from '../../src/gateway/index.js';
import { RemoteGateway } from '../../src/gateway/remote.js';
import { Redactor } from '../../src/lib/redact.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { createLogger } from '../../src/obs/logger.js';
import { startTracing, stopTracing, tracer, withSpan } from '../../src/obs/tracing.js';
import { traceIdOf } from '../../src/obs/run-trace.js';
import { createToolHub, type ToolHub } from '../../src/tools/hub.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';
import { silentLogger, startTestEngine, type TestEngine } from '../helpers/engine.js';
import { sqliteFactory } from '../helpers/store.js';
import type { TaskRecord } from '../../src/types.js';

const SECRET = 'hunter2-very-secret';
let exporter: InMemorySpanExporter;
let cleanups: Array<() => Promise<void> | void> = [];

async function traced(options: { recordArguments?: boolean; recordResults?: boolean; redactor?: Redactor } = {}): Promise<void> {
  exporter = new InMemorySpanExporter();
  expect(await startTracing({ role: 'test', logger: silentLogger, exporter, ...options })).toBe(true);
  cleanups.push(() => stopTracing());
}

afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;

async function waitForSpan(name: string, where: (s: ReadableSpan) => boolean = () => true): Promise<ReadableSpan> {
  for (let i = 0; i < 200; i++) {
    const found = named(name).find(where);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `no span ${name}; got ${exporter
      .getFinishedSpans()
      .map((s) => s.name)
      .join(', ')}`,
  );
}

async function openTask(t: TestEngine, runId: string): Promise<TaskRecord> {
  for (let i = 0; i < 200; i++) {
    const task = (await t.engine.listTasks({ limit: 10 })).items.find((x) => x.runId === runId && x.status === 'open');
    if (task) return task;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`run ${runId} opened no task`);
}

describe('spans of one process', { timeout: 30_000 }, () => {
  it("a run is one trace: its span, its attempts, a child run's span, the claims and a human task's resume lock", async () => {
    await traced();
    const t: TestEngine = await startTestEngine(sqliteFactory, [
      { name: 'child', steps: { inner: { transform: { ok: true } } } },
      {
        name: 'parent',
        steps: {
          approve: { human: { title: 'Go on?' } },
          sub: { needs: ['approve'], workflow: 'child' },
          last: { needs: ['sub'], transform: { done: true } },
        },
      },
    ]);
    cleanups.push(() => t.cleanup());
    // Started inside a span (as the API does inside a request's): the run continues its trace.
    const caller = tracer().startSpan('caller');
    const run = await withSpan(caller, () => t.engine.startRun('parent', {}));
    caller.end();
    expect(traceIdOf(run.traceContext)).toBe(caller.spanContext().traceId);

    const task = await openTask(t, run.id);
    await t.engine.completeTask(task.id, { decision: 'approve' }, { name: 'ada', roles: ['admin'] });
    const ended = await t.engine.waitForRun(run.id, { timeoutMs: 10_000, pollMs: 25 });
    expect(ended.status).toBe('succeeded');

    const runSpan = await waitForSpan('agentry.run', (s) => s.attributes['agentry.run.id'] === run.id);
    const traceId = caller.spanContext().traceId;
    expect(runSpan.spanContext().traceId).toBe(traceId);
    expect(parentOf(runSpan)).toBe(caller.spanContext().spanId);
    expect(runSpan.attributes).toMatchObject({ 'agentry.workflow': 'parent', 'agentry.run.status': 'succeeded', 'agentry.tenant': 'default' });
    // It spans the run's life: from its creation to its end.
    expect(runSpan.startTime[0] * 1000 + Math.floor(runSpan.startTime[1] / 1e6)).toBeLessThanOrEqual(run.createdAt + 1);

    const last = await waitForSpan('agentry.step.attempt', (s) => s.attributes['agentry.step.id'] === 'last');
    expect(last.spanContext().traceId).toBe(traceId);
    expect(parentOf(last)).toBe(runSpan.spanContext().spanId);
    expect(last.attributes).toMatchObject({
      'agentry.run.id': run.id,
      'agentry.step.kind': 'transform',
      'agentry.step.attempt': 1,
      'agentry.step.outcome': 'succeeded',
    });

    // The child run continues its parent's trace, under the parent's run span.
    const childSpan = await waitForSpan('agentry.run', (s) => s.attributes['agentry.workflow'] === 'child');
    expect(childSpan.spanContext().traceId).toBe(traceId);
    expect(parentOf(childSpan)).toBe(runSpan.spanContext().spanId);
    expect(childSpan.attributes['agentry.run.parent_id']).toBe(run.id);

    // The human task's resume lock.
    const lock = await waitForSpan('agentry.continuation.lock');
    expect(lock.attributes).toMatchObject({
      'agentry.continuation.id': task.id,
      'agentry.lock.name': `task:${task.id}`,
      'agentry.lock.ttl_seconds': 30,
      'agentry.lock.acquired': true,
    });
    // Claims: a lease that got the step, with the queue's dispatch inside it, in the run's trace.
    const lease = named('agentry.worker.lease').find((s) => s.attributes['agentry.step.id'] === 'last');
    expect(lease?.attributes).toMatchObject({
      'agentry.worker.claimed': true,
      'agentry.run.id': run.id,
      'agentry.worker.id': t.engine.workerId,
      'agentry.worker.lease_seconds': 2,
    });
    expect(lease?.spanContext().traceId).toBe(traceId);
    const dispatch = named('agentry.queue.dispatch').find((s) => s.attributes['agentry.step.id'] === 'last');
    expect(parentOf(dispatch)).toBe(lease?.spanContext().spanId);
    expect(named('agentry.worker.lease').some((s) => s.attributes['agentry.worker.claimed'] === false && s.attributes['agentry.run.id'] === undefined)).toBe(
      true,
    );
  });

  it('a run started with newTrace (a schedule tick) starts a trace of its own', async () => {
    await traced();
    const t = await startTestEngine(sqliteFactory, [{ name: 'one', steps: { a: { transform: { ok: true } } } }], { start: false });
    cleanups.push(() => t.cleanup());
    const caller = tracer().startSpan('caller');
    const started = await withSpan(caller, () => t.engine.transitions.create(t.engine.workflow('one'), {}, { newTrace: true }));
    caller.end();
    const traceId = traceIdOf(started.run.traceContext);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe(caller.spanContext().traceId);
  });

  describe('MCP tool calls', () => {
    let mcp: HttpMcpServer;
    let hub: ToolHub;

    async function callEcho(): Promise<ReadableSpan> {
      mcp = await startHttpMcpServer();
      hub = createToolHub({ specs: new Map([['web', { name: 'web', url: mcp.url } as never]]), logger: silentLogger });
      cleanups.push(
        () => hub.close(),
        () => mcp.close(),
      );
      const parent = tracer().startSpan('agent step');
      await withSpan(parent, () => hub.callTool('web', 'echo', { text: `the password is ${SECRET}` }));
      parent.end();
      const span = await waitForSpan('execute_tool echo');
      expect(parentOf(span)).toBe(parent.spanContext().spanId);
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'echo',
        'agentry.tool.server': 'web',
        'agentry.tool.outcome': 'ok',
      });
      // The HTTP tool server got the call's traceparent.
      expect(mcp.traceparents).toContain(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
      return span;
    }

    it('record neither arguments nor results by default', async () => {
      await traced();
      const span = await callEcho();
      expect(span.attributes['agentry.tool.arguments']).toBeUndefined();
      expect(span.attributes['agentry.tool.result']).toBeUndefined();
      expect(JSON.stringify(span.attributes)).not.toContain(SECRET);
    });

    it('record both when asked to, with secrets redacted', async () => {
      await traced({ recordArguments: true, recordResults: true, redactor: new Redactor().add([SECRET]) });
      const span = await callEcho();
      expect(span.attributes['agentry.tool.arguments']).toBe('{"text":"the password is [redacted]"}');
      expect(span.attributes['agentry.tool.result']).toContain('the password is [redacted]');
      expect(JSON.stringify(span.attributes)).not.toContain(SECRET);
    });
  });

  describe('LLM calls', () => {
    const spec: GatewaySpec = {
      providers: {
        scripted: {
          type: 'mock',
          script: [
            { when: { last_user_contains: 'fail' }, error: { status: 400, message: 'bad request' } },
            { reply: { content: `the key is ${SECRET}` }, usage: { prompt_tokens: 12, completion_tokens: 5 } },
          ],
        },
      },
      models: { fast: { targets: [{ provider: 'scripted', model: 'mock-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
    };
    const gatewayOf = () => new Gateway({ spec, env: {}, logger: silentLogger, ledger: new InMemoryUsageLedger() });
    const ask = (content: string) => ({ model: 'fast', messages: [{ role: 'user' as const, content }], temperature: 0.2, max_tokens: 50 });

    it('are client spans with the GenAI attributes and no content by default; a failed attempt has its error type', async () => {
      await traced();
      const gw = gatewayOf();
      await gw.chat(ask(`say ${SECRET}`), { tenantId: 't' });
      for await (const chunk of gw.stream(ask('stream it'), { tenantId: 't' })) void chunk;
      await expect(gw.chat(ask('please fail'), { tenantId: 't' })).rejects.toMatchObject({ code: 'provider_error' });
      await waitForSpan('chat mock-1', (s) => s.attributes['error.type'] !== undefined);
      const [called, streamed, failed] = named('chat mock-1');
      expect(called?.kind).toBe(SpanKind.CLIENT);
      expect(called?.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'mock',
        'gen_ai.request.model': 'mock-1',
        'gen_ai.request.temperature': 0.2,
        'gen_ai.request.max_tokens': 50,
        'gen_ai.response.model': 'mock-1',
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 5,
        'agentry.model_group': 'fast',
        'agentry.llm.outcome': 'ok',
      });
      expect(called?.attributes['agentry.llm.cost_usd']).toBeCloseTo((12 * 1 + 5 * 2) / 1e6, 12);
      expect(streamed?.attributes).toMatchObject({ 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.usage.output_tokens': 5 });
      expect(failed?.attributes).toMatchObject({ 'error.type': 'provider_error', 'agentry.llm.outcome': 'error' });
      expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
      for (const span of [called, streamed, failed]) expect(JSON.stringify(span?.attributes)).not.toMatch(/say |the key is/);
    });

    it('carry prompts and completions, redacted, with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', async () => {
      exporter = new InMemorySpanExporter();
      const env = { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' };
      await startTracing({ role: 'test', logger: silentLogger, exporter, env, redactor: new Redactor().add([SECRET]) });
      cleanups.push(() => stopTracing());
      await gatewayOf().chat(ask(`say ${SECRET}`), { tenantId: 't' });
      const span = await waitForSpan('chat mock-1');
      expect(span.attributes['gen_ai.input.messages']).toBe('[{"role":"user","content":"say [redacted]"}]');
      expect(span.attributes['gen_ai.output.messages']).toBe('[{"role":"assistant","content":"the key is [redacted]"}]');
    });
  });

  it("a call to a gateway process carries the calling span's traceparent", async () => {
    await traced();
    const fake = await startFakeOpenAI();
    cleanups.push(() => fake.close());
    const parent = tracer().startSpan('agent step');
    await withSpan(parent, () =>
      new RemoteGateway({ url: fake.origin, apiKey: 'k' }).chat({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }, { tenantId: 't' }),
    );
    parent.end();
    const { traceId, spanId } = parent.spanContext();
    expect(fake.requests[0]?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  it('log lines written inside a span carry its trace and span ids; lines outside carry none', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    logger.info('before tracing');
    await traced();
    const span = tracer().startSpan('work');
    await withSpan(span, async () => {
      await new Promise((r) => setTimeout(r, 1));
      logger.child({ run_id: 'run_x' }).info({ step_id: 'a' }, 'inside');
    });
    span.end();
    logger.info('outside');
    const [before, inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(before).not.toHaveProperty('trace_id');
    expect(inside).toMatchObject({ msg: 'inside', run_id: 'run_x', step_id: 'a', trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(outside).not.toHaveProperty('trace_id');
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
