/**
 * Drill of docs/operations/runbooks/budget-exhausted.md: a tenant's daily token budget is so small
 * that one run spends it and the next is refused `budget_exceeded` before its call is sent. The
 * page's commands find the budget, the refused run and the refusal counter; the limit is raised
 * in gateway.yaml and the server restarted, as the page says; the page's retry command then
 * brings the refused run to `succeeded`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetailDto } from '../../src/cli/remote.js';
import { killAll, removeDir } from '../helpers/cli.js';
import { KEYS } from '../helpers/server.js';
import { apiCall, drillProject, type DrillServer, pageCommand, runPageCommand, startDrillServer, waitForRunEnd } from '../helpers/runbook.js';

const PAGE = 'budget-exhausted';

/** Each call reports 25 tokens; its worst case is the prompt's estimate plus the 50-token cap (62). */
const gatewayYaml = (tenantDailyTokens: number): string => `version: v1
defaults: { max_output_tokens: 50 }
providers:
  demo: { type: mock, script: [{ reply: { content: hi }, usage: { prompt_tokens: 20, completion_tokens: 5 } }] }
models:
  demo: { targets: [{ provider: demo, model: demo-1, input_per_mtok: 1, output_per_mtok: 2 }] }
budgets:
  tenant_daily_tokens: ${tenantDailyTokens}
`;

let project: string;
let server: DrillServer;
let env: Record<string, string>;

const start = async (): Promise<void> => {
  server = await startDrillServer(project);
  env = { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.operator };
};

beforeAll(async () => {
  project = drillProject({
    'gateway.yaml': gatewayYaml(80),
    'agents/answer.yaml': 'version: v1\nname: answer\nmodel: demo\nprompt: Say hello to {{ input.name }}.\n',
    'workflows/ask.yaml': 'version: v1\nname: ask\nsteps:\n  reply: { agent: answer, input: { name: Ada } }\n',
  });
  await start();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await killAll();
  removeDir(project);
});

const api = <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => apiCall<T>(server.url, KEYS.operator, method, path, body);

const runAsk = (): Promise<RunDetailDto> => api<RunDetailDto>('POST', '/v1/workflows/ask/runs?wait=30s', { input: {} });

interface BudgetLine {
  scope: string;
  period: string;
  limit_tokens: number | null;
  spent_tokens: number;
}

const budgets = async (): Promise<BudgetLine[]> => {
  const result = await runPageCommand(pageCommand(PAGE, 'curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/v1/usage/budgets"'), {}, { env });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split(/\n(?=\{)/)
    .map((entry) => JSON.parse(entry) as BudgetLine);
};

describe('budget exhausted drill', { timeout: 180_000 }, () => {
  let refused: RunDetailDto;

  it('a run spends the tenant budget, the next is refused, and the page finds the budget and the run', async () => {
    expect((await runAsk()).status).toBe('succeeded');
    refused = await runAsk();
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });

    const today = new Date().toISOString().slice(0, 10);
    const [listed, detail, usage, metrics, shown] = await Promise.all([
      runPageCommand(pageCommand(PAGE, 'agentry runs list --status failed --limit'), {}, { env }),
      runPageCommand(pageCommand(PAGE, 'agentry runs get'), { 'run-id': refused.id }, { env }),
      runPageCommand(pageCommand(PAGE, 'curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/v1/usage?from='), { day: today }, { env }),
      runPageCommand(pageCommand(PAGE, 'curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/metrics"'), {}, { env }),
      budgets(),
    ]);
    expect(shown).toContainEqual(expect.objectContaining({ scope: 'tenant', period: 'day', limit_tokens: 80, spent_tokens: 25 }));
    expect(listed.stdout).toContain(refused.id);
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toContain(
      '[budget_exceeded] tenant daily budget of 80 tokens would be exceeded: spent 25 tokens, this call may use up to 62 tokens; the call was not sent',
    );
    expect(usage.code, usage.stderr).toBe(0);
    expect(JSON.parse(usage.stdout)).toEqual([
      expect.objectContaining({ workflow: 'ask', model_group: 'demo', day: today, calls: 2, input_tokens: 20, output_tokens: 5 }),
    ]);
    expect(metrics.code, metrics.stderr).toBe(0);
    expect(metrics.stdout).toContain('agentry_llm_budget_refusals_total{scope="tenant"} 1');
    expect(server.logs()).toContainEqual(expect.objectContaining({ event: 'budget.refused', run_id: refused.id, scope: 'tenant', limit: 80, spent: 25 }));
  });

  it('after the limit is raised and the server restarted, the page retries the refused run to success', async () => {
    expect(refused, 'the previous test ran').toBeDefined();
    writeFileSync(join(project, 'gateway.yaml'), gatewayYaml(5_000_000));
    await server.stop();
    await start();
    expect(await budgets()).toContainEqual(expect.objectContaining({ scope: 'tenant', limit_tokens: 5_000_000, spent_tokens: 25 }));

    const retried = await runPageCommand(pageCommand(PAGE, 'agentry runs list --status failed --json'), {}, { env });
    expect(retried.code, retried.stderr).toBe(0);
    const id = new RegExp(`Retried run ${refused.id} as run (run_\\w+)`).exec(retried.stdout)?.[1];
    expect(id, retried.stdout).toBeDefined();
    const rerun = await waitForRunEnd<RunDetailDto>(server.url, id!, KEYS.operator);
    expect(rerun).toMatchObject({ status: 'succeeded', retry_of: refused.id });

    const [verify, after] = await Promise.all([runPageCommand(pageCommand(PAGE, 'agentry runs list --limit 10'), {}, { env }), budgets()]);
    expect(verify.stdout).toMatch(new RegExp(`${rerun.id} +ask +✓ succeeded`));
    expect(after).toContainEqual(expect.objectContaining({ scope: 'tenant', limit_tokens: 5_000_000, spent_tokens: 50 }));
  });
});
