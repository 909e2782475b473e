/**
 * OpenTelemetry traces from request to LLM call, across processes: an `agentry start api`
 * process and `agentry start worker` processes on one PostgreSQL database export OTLP/HTTP JSON
 * to a receiver in this test. One run, started over HTTP with a given `traceparent`, is one
 * trace: the API's request span (a child of the caller's), the run span, a span per step
 * attempt, the agent's LLM call (GenAI attributes) and MCP tool call, with the right parents;
 * the `http` step and the HTTP tool server get the trace's `traceparent`; a worker started
 * after the first one stopped continues the same trace. Without `OTEL_*`, nothing is exported
 * and the run has no trace id.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startCli, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { hasPostgres, tempDir } from '../helpers/store.js';
import { startHttpMcpServer, type HttpMcpServer } from '../fixtures/mcp/server.js';

const SERVICE = 'agentry-e2e';

interface Downstream {
  url: string;
  traceparents: string[];
  close: () => Promise<void>;
}

/** The service the `http` step calls: records the `traceparent` of each request. */
async function startDownstream(): Promise<Downstream> {
  const traceparents: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      traceparents.push(String(req.headers.traceparent ?? ''));
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traceparents,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function writeProject(dir: string, mcpUrl: string, downstreamUrl: string): void {
  for (const sub of ['workflows', 'agents', 'tools']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'agentry.yaml'), 'version: v1\nname: tracing-e2e\n');
  const gateway = {
    version: 'v1',
    providers: {
      scripted: {
        type: 'mock',
        script: [
          { when: { has_tool_results: false }, reply: { tool_calls: [{ id: 'call_echo', name: 'fx__echo', arguments: { text: 'top secret argument' } }] } },
          { reply: { content: 'echoed' }, usage: { prompt_tokens: 42, completion_tokens: 7 } },
        ],
      },
    },
    models: { smart: { targets: [{ provider: 'scripted', model: 'mock-1' }] } },
  };
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify(gateway));
  writeFileSync(join(dir, 'tools', 'fx.yaml'), JSON.stringify({ name: 'fx', url: mcpUrl }));
  writeFileSync(join(dir, 'agents', 'helper.yaml'), JSON.stringify({ name: 'helper', model: 'smart', prompt: 'Echo something.', tools: ['fx.echo'] }));
  const workflow = {
    name: 'traced',
    steps: {
      ask: { agent: 'helper' },
      // Long enough for the first worker to stop and a second to take over.
      nap: { needs: ['ask'], sleep: '1s' },
      call: { needs: ['nap'], http: { url: `${downstreamUrl}/hook`, method: 'POST', body: { run: '{{ run.id }}' } } },
    },
  };
  writeFileSync(join(dir, 'workflows', 'traced.yaml'), JSON.stringify(workflow));
}

const attempts = (spans: ReceivedSpan[], stepId: string) =>
  spans.filter((s) => s.name === 'agentry.step.attempt' && s.attributes['agentry.step.id'] === stepId);

describe.skipIf(!hasPostgres)('OpenTelemetry traces across processes', { timeout: 120_000 }, () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let receiver: OtlpReceiver;
  let downstream: Downstream;
  let mcp: HttpMcpServer;
  let dir: string;
  let remove: () => void;
  let env: Record<string, string>;
  let api: CliProcess;
  let apiUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await startOtlpReceiver();
    downstream = await startDownstream();
    mcp = await startHttpMcpServer();
    ({ dir, remove } = tempDir('agentry-tracing-'));
    writeProject(dir, mcp.url, downstream.url);
    env = {
      AGENTRY_DATABASE_URL: db.url,
      AGENTRY_API_KEYS: API_KEYS,
      AGENTRY_LOG_LEVEL: 'info',
      AGENTRY_POLL_INTERVAL: '200ms',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: SERVICE,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    api = startCli(['start', 'api', '--dir', dir, '--port', '0'], { env });
    await waitForOutput(api, (_stderr, stdout) => stdout.includes('listening on'));
    apiUrl = /listening on (http:\/\/\S+)/.exec(api.stdout)![1]!;
  });

  afterAll(async () => {
    await killAll();
    await mcp?.close();
    await downstream?.close();
    await receiver?.close();
    await db?.drop();
    remove?.();
  });

  it('one run started with a traceparent is one trace from the API request through workers, LLM and tool calls to the downstream service', async () => {
    // Debug: the attempt's own lines (`http step response`) are written at debug level.
    const workerEnv = { ...env, AGENTRY_LOG_LEVEL: 'debug' };
    const worker1 = startCli(['start', 'worker', '--dir', dir], { env: workerEnv });
    await waitForOutput(worker1, (stderr) => stderr.includes('engine started'));

    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const started = await fetch(`${apiUrl}/v1/workflows/traced/runs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEYS.operator}`,
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
        connection: 'close',
      },
      body: '{"input":{}}',
    });
    expect(started.status).toBe(201);
    const runId = ((await started.json()) as { id: string }).id;

    // The first worker runs `ask` and parks `nap`; it stops (gracefully: its spans are exported) and a new one takes over.
    const runSteps = async () =>
      (await (await fetch(`${apiUrl}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${KEYS.operator}`, connection: 'close' } })).json()) as {
        status: string;
        trace_id: string | null;
        steps: Array<{ id: string; status: string }>;
      };
    for (let deadline = Date.now() + 30_000; ;) {
      const nap = (await runSteps()).steps.find((s) => s.id === 'nap');
      if (nap?.status === 'waiting') break;
      if (Date.now() > deadline) throw new Error(`nap never slept: ${worker1.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    worker1.child.kill('SIGTERM');
    await worker1.done;
    const worker2 = startCli(['start', 'worker', '--dir', dir], { env: workerEnv });
    let detail = await runSteps();
    for (let deadline = Date.now() + 30_000; detail.status !== 'succeeded'; detail = await runSteps()) {
      if (Date.now() > deadline) throw new Error(`run did not succeed: ${JSON.stringify(detail)}\n${worker2.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(detail.trace_id).toBe(callerTrace);

    const spans = await receiver.waitFor((all) => all.some((s) => s.traceId === callerTrace && s.name === 'agentry.run'));
    const trace = spans.filter((s) => s.traceId === callerTrace);
    const one = (name: string) => {
      const found = trace.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };

    // Every span names the service; they come from three processes: the API and both workers.
    for (const span of trace) expect(span.resource['service.name']).toBe(SERVICE);
    const request = one('POST /v1/workflows/:name/runs');
    expect(request).toMatchObject({ kind: 2, parentSpanId: callerSpan });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/workflows/:name/runs', 'http.response.status_code': 201 });
    expect(request.resource['agentry.role']).toBe('api');
    const instances = new Set(trace.map((s) => s.resource['service.instance.id']));
    expect(instances.size).toBe(3);

    // The run span: a child of the request, from the run's creation to its end.
    const run = one('agentry.run');
    expect(run.parentSpanId).toBe(request.spanId);
    expect(run.attributes).toMatchObject({ 'agentry.run.id': runId, 'agentry.workflow': 'traced', 'agentry.run.status': 'succeeded' });
    expect(run.startMs).toBeLessThanOrEqual(request.endMs);

    // Step attempts are children of the run span, on whichever worker ran them.
    const [ask] = attempts(trace, 'ask');
    const naps = attempts(trace, 'nap');
    const [call] = attempts(trace, 'call');
    for (const span of [ask, ...naps, call]) expect(span?.parentSpanId).toBe(run.spanId);
    expect(ask!.resource['service.instance.id']).not.toBe(call!.resource['service.instance.id']);
    expect(ask!.resource['agentry.role']).toBe('worker+scheduler');
    // The nap was taken up by the second worker after the first stopped: the same trace.
    expect(naps.map((s) => s.attributes['agentry.step.outcome'])).toEqual(['suspended', 'succeeded']);
    expect(naps[1]!.resource['service.instance.id']).toBe(call!.resource['service.instance.id']);

    // The agent's model calls: GenAI attributes, children of the agent step's attempt.
    const llm = trace.filter((s) => s.name === 'chat mock-1');
    expect(llm).toHaveLength(2);
    for (const span of llm) {
      expect(span).toMatchObject({ kind: 3, parentSpanId: ask!.spanId });
      expect(span.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'mock',
        'gen_ai.request.model': 'mock-1',
        'gen_ai.response.model': 'mock-1',
        'agentry.model_group': 'smart',
      });
      expect(span.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
      expect(span.attributes['gen_ai.input.messages']).toBeUndefined();
    }
    expect(llm.map((s) => s.attributes['gen_ai.response.finish_reasons'])).toEqual(expect.arrayContaining([['tool_calls'], ['stop']]));
    expect(llm.find((s) => s.attributes['gen_ai.usage.input_tokens'] === 42)?.attributes['gen_ai.usage.output_tokens']).toBe(7);

    // The tool call: a span without the arguments or the result (not asked for).
    const tool = one('execute_tool echo');
    expect(tool.parentSpanId).toBe(ask!.spanId);
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'echo',
      'agentry.tool.server': 'fx',
      'agentry.tool.outcome': 'ok',
    });
    expect(tool.attributes['agentry.tool.arguments']).toBeUndefined();
    expect(tool.attributes['agentry.tool.result']).toBeUndefined();
    expect(JSON.stringify(trace)).not.toContain('top secret argument');

    // Downstream: the http step and the HTTP tool server got the trace's traceparent.
    expect(downstream.traceparents).toEqual([`00-${callerTrace}-${call!.spanId}-01`]);
    expect(mcp.traceparents).toContain(`00-${callerTrace}-${tool.spanId}-01`);

    // The platform spans of the claims: a lease (claimed) with its dispatch, in the run's trace.
    const leases = trace.filter((s) => s.name === 'agentry.worker.lease' && s.attributes['agentry.step.id'] === 'ask');
    expect(leases.map((s) => s.attributes['agentry.worker.claimed'])).toContain(true);
    expect(trace.some((s) => s.name === 'agentry.queue.dispatch' && s.attributes['agentry.run.id'] === runId)).toBe(true);
    // An idle worker's polls are lease spans that claimed nothing (each a trace of its own).
    expect(spans.some((s) => s.name === 'agentry.worker.lease' && s.attributes['agentry.worker.claimed'] === false)).toBe(true);

    // Worker log lines of the attempt carry the run's trace id.
    const lines = worker2.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.trace_id === callerTrace && l.run_id === runId)).toBe(true);
    worker2.child.kill('SIGTERM');
    await worker2.done;
  });

  it('without OTEL_* variables nothing is exported and the run has no trace id', async () => {
    const quiet = Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('OTEL_')));
    const result = await runUntraced(dir, quiet);
    expect(result.status).toBe('succeeded');
    expect(result.trace_id).toBeNull();
    // The first test's worker may still export its idle polls: count only what names this run or workflow.
    const mine = receiver.spans.filter((s) => s.attributes['agentry.run.id'] === result.id || s.attributes['agentry.workflow'] === 'quick');
    expect(mine).toEqual([]);
  });
});

/** `agentry run --wait --json` of a workflow without agent or http steps, tracing off. */
async function runUntraced(dir: string, env: Record<string, string>): Promise<{ id: string; status: string; trace_id: string | null }> {
  writeFileSync(join(dir, 'workflows', 'quick.yaml'), JSON.stringify({ name: 'quick', steps: { only: { transform: { ok: true } } } }));
  const proc = startCli(['run', 'quick', '--dir', dir, '--wait', '--json'], { env });
  const result = await proc.done;
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { id: string; status: string; trace_id: string | null };
}
