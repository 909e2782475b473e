/**
 * Drill of docs/operations/runbooks/provider-outage.md: the fake OpenAI server behind a model
 * group's first target is stopped; the page's commands show the gateway falling back to the
 * second target (counters, journal, log lines) while runs still succeed. Then the fallback stops
 * too: a run fails `provider_unavailable`, the page's commands find it, and once the provider is
 * back the page's retry command brings it to `succeeded`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetailDto } from '../../src/cli/remote.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';
import { killAll, removeDir, tempDir } from '../helpers/cli.js';
import { KEYS } from '../helpers/server.js';
import { apiCall, drillProject, type DrillServer, pageCommand, runPageCommand, startDrillServer, waitForRunEnd } from '../helpers/runbook.js';

const PAGE = 'provider-outage';

let primary: FakeServer;
let backup: FakeServer;
let project: string;
let data: string;
let server: DrillServer;
let env: Record<string, string>;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  project = drillProject({
    'gateway.yaml': `version: v1
providers:
  primary: { type: openai-compatible, base_url: "${primary.url}" }
  backup: { type: openai-compatible, base_url: "${backup.url}" }
models:
  smart:
    targets:
      - { provider: primary, model: big-1, input_per_mtok: 1, output_per_mtok: 2 }
      - { provider: backup, model: other-1, input_per_mtok: 1, output_per_mtok: 2 }
    retry: { max_attempts: 2, initial: 50ms, max: 100ms }
`,
    'agents/answer.yaml': 'version: v1\nname: answer\nmodel: smart\nprompt: Say hello to {{ input.name }}.\n',
    'workflows/ask.yaml': 'version: v1\nname: ask\nsteps:\n  reply: { agent: answer, input: { name: Ada } }\n',
  });
  data = tempDir();
  server = await startDrillServer(project);
  env = { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.operator };
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await killAll();
  await Promise.all([primary?.close(), backup?.close()]);
  removeDir(project);
  removeDir(data);
});

const api = <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => apiCall<T>(server.url, KEYS.operator, method, path, body);

const runAsk = (): Promise<RunDetailDto> => api<RunDetailDto>('POST', '/v1/workflows/ask/runs?wait=30s', { input: {} });

describe('provider outage drill', { timeout: 180_000 }, () => {
  let failed: RunDetailDto;

  it('with the first provider down, runs succeed on the fallback, and the page shows it', async () => {
    await primary.close();
    const run = await runAsk();
    expect(run.status).toBe('succeeded');
    expect(backup.requests.map((r) => r.model)).toEqual(['other-1']);
    const logFile = join(data, 'agentry.log');
    writeFileSync(logFile, server.proc.stderr);

    const [metrics, journal, logs] = await Promise.all([
      runPageCommand(pageCommand(PAGE, 'curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/metrics"'), {}, { env }),
      runPageCommand(pageCommand(PAGE, 'agentry runs journal'), { 'run-id': run.id, step: 'reply' }, { env }),
      runPageCommand(pageCommand(PAGE, 'jq -c \'select(.event == "llm.retry"'), { 'log-file': logFile }, { env }),
    ]);
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toContain('agentry_llm_requests_total{model_group="smart",provider="primary",status="error"} 2');
    expect(metrics.stdout).toContain('agentry_llm_requests_total{model_group="smart",provider="backup",status="ok"} 1');
    expect(journal.code, journal.stderr).toBe(0);
    expect(journal.stdout).toContain('smart → backup/other-1');
    expect(journal.stdout).toMatch(/smart → primary\/big-1 +error \[provider_unavailable\]/);
    expect(logs.code, logs.stderr).toBe(0);
    const lines = logs.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ from: 'primary/big-1', to: 'backup/other-1' }));
    expect(lines).toContainEqual(expect.objectContaining({ provider: 'primary', code: 'provider_unavailable' }));
    // The server's gateway keeps its connection to the fallback alive: not this test's to hold.
    backup.closeIdleConnections();
  });

  it('with every target down, the run fails provider_unavailable and the page finds it', async () => {
    await backup.close();
    failed = await runAsk();
    expect(failed.status).toBe('failed');
    const [list, detail] = await Promise.all([
      runPageCommand(pageCommand(PAGE, 'agentry runs list --status failed --limit'), {}, { env }),
      runPageCommand(pageCommand(PAGE, 'agentry runs get'), { 'run-id': failed.id }, { env }),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(failed.id);
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toContain(
      "[provider_unavailable] model group 'smart': every target failed (primary/big-1: provider_unavailable, backup/other-1: provider_unavailable)",
    );
  });

  it('once the provider is back, the page retries the failed run to success, and verifies it', async () => {
    expect(failed, 'the previous test ran').toBeDefined();
    primary = await startFakeOpenAI(Number(new URL(primary.url).port));
    try {
      await retryAndVerify();
    } finally {
      await primary.close();
    }
  });

  async function retryAndVerify(): Promise<void> {
    const retried = await runPageCommand(pageCommand(PAGE, 'agentry runs list --status failed --json'), {}, { env });
    expect(retried.code, retried.stderr).toBe(0);
    const ids = [...retried.stdout.matchAll(new RegExp(`Retried run ${failed.id} as run (run_\\w+)`, 'g'))].map((m) => m[1] as string);
    expect(ids).toHaveLength(1);
    const rerun = await waitForRunEnd<RunDetailDto>(server.url, ids[0]!, KEYS.operator);
    expect(rerun).toMatchObject({ status: 'succeeded', retry_of: failed.id });
    expect(primary.requests.map((r) => r.model)).toEqual(['big-1']);
    const verify = await runPageCommand(pageCommand(PAGE, 'agentry runs list --limit 10'), {}, { env });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`${rerun.id} +ask +✓ succeeded`));
  }
});
