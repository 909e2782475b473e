/**
 * The web console, built (dist/ui) and served by a real `agentry serve` on loopback, driven in
 * headless Chromium: sign-in, a run's graph turning from queued to succeeded live, cancel and
 * re-run from a step, a human task's form (refused, then accepted, and the run resumes), the
 * usage chart with a mock agent's cost, a viewer's read-only view and its 403 explained, and an
 * axe-core scan of every page. Screenshots of each page go to docs/images/console/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleProject, killAll, removeDir, startCli, tempDir, waitForOutput, type CliProcess } from '../helpers/cli.js';
import { API_KEYS, KEYS } from '../helpers/server.js';
import { axeViolations, launchBrowser, screenshot } from '../helpers/browser.js';

// The page's globals, used by the functions that run in the browser (page.evaluate); this
// project's types are Node's, without the DOM.
declare const document: {
  querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }>;
  body: unknown;
  documentElement: { scrollWidth: number };
  activeElement: { textContent: string | null } | null;
};
declare const window: { innerWidth: number };
declare const sessionStorage: Record<string, string>;
declare const MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, boolean>): void };

const FILES: Record<string, string> = {
  // Branches after `start`: a durable sleep, a transform, three items and a child run; `join` waits for all.
  'workflows/fanout.yaml': `version: v1
name: fanout
steps:
  start: { transform: { n: 1 } }
  nap: { needs: [start], sleep: 3s }
  side: { needs: [start], transform: { n: 2 } }
  each: { needs: [start], for_each: { from: "[1, 2, 3]" }, transform: { v: "{{ item }}" } }
  child: { needs: [start], workflow: tick }
  join: { needs: [nap, side, each, child], transform: { n: 3 } }
`,
  'workflows/long.yaml': `version: v1
name: long
steps:
  prepare: { transform: { ready: true } }
  wait: { needs: [prepare], sleep: 1h }
  finish: { needs: [wait], transform: { done: true } }
`,
  'workflows/claim.yaml': `version: v1
name: claim
input:
  schema:
    type: object
    required: [employee]
    properties: { employee: { type: string } }
steps:
  review:
    human:
      title: "Expense claim of {{ input.employee }}"
      instructions: Check the amount and choose a cost centre.
      role: reviewer
      form:
        schema:
          type: object
          required: [approved_eur, centre]
          additionalProperties: false
          properties:
            approved_eur: { type: integer, minimum: 0, maximum: 10000 }
            centre: { type: string, enum: [engineering, sales, support] }
            payment:
              type: object
              properties:
                iban: { type: string, minLength: 4 }
      timeout: 3d
    input: { employee: "{{ input.employee }}" }
  pay:
    needs: [review]
    transform: { amount: "{{ steps.review.output.data.approved_eur }}" }
`,
  'agents/greeter.yaml': `version: v1
name: greeter
model: demo
prompt: "Say hello to {{ input.name }}."
max_turns: 2
`,
  'workflows/ask.yaml': `version: v1
name: ask
steps:
  greet: { agent: greeter, input: { name: Ada } }
`,
  'workflows/tick.yaml': `version: v1
name: tick
steps:
  only: { transform: { ok: true } }
schedule:
  cron: "0 6 * * *"
  timezone: Europe/Berlin
`,
  // The demo's scripted provider, priced so that an agent's run costs something.
  'gateway.yaml': `version: v1
providers:
  scripted: { type: mock }
models:
  demo:
    description: Scripted replies (no key, no network)
    targets: [{ provider: scripted, model: demo-1, input_per_mtok: 1000, output_per_mtok: 2000 }]
budgets:
  tenant_daily_usd: 5000
  per_workflow: { ask: { daily_usd: 1000 } }
`,
};

let project: string;
let dataDir: string;
let server: CliProcess;
let base: string;
let browser: Browser;
let operator: BrowserContext;
let page: Page;
const cspErrors: string[] = [];

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown, key: string = KEYS.operator): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`).toBe(true);
  return (await response.json()) as T;
}

async function startRun(workflow: string, input: unknown = {}, wait?: number): Promise<{ id: string; status: string }> {
  return api('POST', `/v1/workflows/${workflow}/runs${wait ? `?wait=${wait}` : ''}`, { input });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newPage(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  p.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspErrors.push(message.text());
  });
  return p;
}

async function signIn(p: Page, key: string): Promise<void> {
  await p.goto(`${base}/ui/`);
  await p.getByLabel('API key').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function expectAccessible(p: Page, name: string): Promise<void> {
  expect(await axeViolations(p), `axe on ${name}`).toEqual([]);
}

beforeAll(async () => {
  project = exampleProject(FILES);
  dataDir = tempDir();
  server = startCli(['serve', project, '--port', '0'], {
    env: { AGENTRY_API_KEYS: API_KEYS, AGENTRY_DATABASE_URL: `sqlite:${dataDir}/agentry.db`, AGENTRY_POLL_INTERVAL: '100ms', AGENTRY_LOG_LEVEL: 'warn' },
  });
  await waitForOutput(server, (_stderr, stdout) => stdout.includes('curl '));
  base = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
  expect(server.stdout).toContain(`Console: ${base}/ui/`);
  browser = await launchBrowser();
  operator = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await newPage(operator);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.done;
  await killAll();
  removeDir(project);
  removeDir(dataDir);
});

describe('the web console', () => {
  it('signs in with an API key kept in session storage, and shows what the key may see', async () => {
    await page.goto(`${base}/ui/`);
    await page.getByLabel('API key').waitFor();
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key').fill('not-a-key-0123456789abcdef');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('was not accepted').waitFor();
    await signIn(page, KEYS.operator);
    expect(page.url()).not.toContain(KEYS.operator);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(KEYS.operator);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Runs', 'Inbox', 'Usage', 'Tools', 'Schedules']) await nav.getByRole('link', { name }).waitFor();
  });

  it("draws a run's graph and turns its nodes from queued to succeeded live, without a reload", async () => {
    const run = await startRun('fanout');
    await page.goto(`${base}/ui/runs/${run.id}`);
    const node = (id: string) => page.locator(`g.node[data-step="${id}"]`);
    await node('join').waitFor();
    // Every status each node shows, recorded as the page changes it (and a marker a reload would drop).
    await page.evaluate(() => {
      const seen: Record<string, string[]> = {};
      const record = () => {
        for (const g of document.querySelectorAll('g.node')) {
          const id = g.getAttribute('data-step')!;
          const status = g.getAttribute('data-status')!;
          const list = (seen[id] ??= []);
          if (list.at(-1) !== status) list.push(status);
        }
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, attributes: true, childList: true });
      (window as unknown as { seen: typeof seen }).seen = seen;
    });
    await expect.poll(() => node('join').getAttribute('data-status'), { timeout: 20_000 }).toBe('succeeded');
    const seen = await page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen);
    expect(seen.join!.at(-1)).toBe('succeeded');
    // The sleeping branch and the join were seen before they succeeded, on the same page.
    expect(seen.nap!.length).toBeGreaterThan(1);
    expect(seen.join!.length).toBeGreaterThan(1);
    expect(seen.join![0]).not.toBe('succeeded');
    // Edges from `needs`: start → each of the four branches, each branch → join.
    expect(await page.locator('path.edge').count()).toBe(8);
    // The map step counts its items; the sub-workflow step links to its child run.
    await node('each').getByText('3/3').waitFor();
    await node('child').click();
    const childLink = page.getByRole('complementary', { name: 'Step child' }).getByRole('link', { name: /^run_/ });
    const childId = await childLink.textContent();
    expect((await api<{ parent: { run_id: string } }>('GET', `/v1/runs/${childId}`)).parent.run_id).toBe(run.id);
    await node('nap').click();
    await page.getByRole('complementary', { name: 'Step nap' }).locator('summary', { hasText: 'Attempt 1: succeeded' }).waitFor();
    await expect.poll(() => page.locator('.timeline li').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await expectAccessible(page, 'run');
    await screenshot(page, 'run');
  });

  it('cancels a run and re-runs it from a step, each confirmed first', async () => {
    const run = await startRun('long');
    await page.goto(`${base}/ui/runs/${run.id}`);
    await expect.poll(() => page.locator('g.node[data-step="wait"]').getAttribute('data-status'), { timeout: 20_000 }).toMatch(/waiting|running/);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const cancel = page.getByRole('dialog', { name: 'Cancel run' });
    await cancel.getByText('cannot be undone').waitFor();
    await cancel.getByRole('button', { name: 'Cancel the run' }).click();
    await page.locator('h1 .badge.status-cancelled').waitFor();
    expect((await api<{ status: string }>('GET', `/v1/runs/${run.id}`)).status).toBe('cancelled');

    await page.getByRole('button', { name: 'Re-run from a step' }).click();
    const rerun = page.getByRole('dialog', { name: 'Re-run from a step' });
    await rerun.getByLabel('From step').selectOption('wait');
    await rerun.getByRole('button', { name: 'Re-run' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/ui/runs/') && !url.pathname.endsWith(run.id));
    const retryId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const retried = await api<{ retry_of: string; steps: { id: string; status: string }[] }>('GET', `/v1/runs/${retryId}`);
    expect(retried.retry_of).toBe(run.id);
    await page.getByRole('link', { name: run.id }).waitFor();
    // The step before the one chosen kept its output; the one chosen runs again (sleeping).
    await expect.poll(() => page.locator('g.node[data-step="wait"]').getAttribute('data-status'), { timeout: 20_000 }).toMatch(/waiting|running/);
    await api('POST', `/v1/runs/${retryId}/cancel`, { reason: 'test done' });
  });

  it("fills a human task's form: an invalid value is refused with its error, a valid one resumes the run", async () => {
    const run = await startRun('claim', { employee: 'Ada' });
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('link', { name: 'Expense claim of Ada' }).waitFor();
    await expectAccessible(page, 'inbox');
    await screenshot(page, 'inbox');
    await page.getByRole('link', { name: 'Expense claim of Ada' }).click();
    await page.getByText('Check the amount and choose a cost centre.').waitFor();
    await page.getByLabel('approved_eur').fill('20000');
    await page.getByLabel('centre').selectOption('sales');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('At most 10000.').waitFor();
    await page.getByRole('alert').getByText('Some fields need attention').waitFor();
    expect(await page.getByLabel('approved_eur').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'task');
    await screenshot(page, 'task');
    await page.getByLabel('approved_eur').fill('120');
    await page.getByLabel('iban').fill('DE89');
    await page.getByLabel('Comment').fill('fine');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Decided:').waitFor();
    const done = await until('the claim run to finish', async () => {
      const r = await api<{ status: string; output: unknown; steps: { id: string; output: unknown }[] }>('GET', `/v1/runs/${run.id}`);
      return r.status === 'succeeded' ? r : undefined;
    });
    expect(done.steps.find((s) => s.id === 'pay')!.output).toEqual({ amount: 120 });
  });

  it("charts usage per day with a mock agent run's cost, and lists tools and schedules", async () => {
    const run = await startRun('ask', {}, 20_000);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const cost = (await api<{ usage: { cost_usd: number } }>('GET', `/v1/runs/${run.id}`)).usage.cost_usd;
    expect(cost).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('rect[data-group="ask"]').first().waitFor();
    expect(await page.locator('[data-total="cost"]').textContent()).not.toBe('$0.00');
    await page.getByRole('cell', { name: 'workflow ask' }).waitFor();
    await expectAccessible(page, 'usage');
    await screenshot(page, 'usage');

    await page.getByRole('link', { name: 'Tools' }).click();
    await page.locator('[data-tool="community"]').waitFor();
    await page.getByRole('button', { name: 'Disable community' }).waitFor();
    await expectAccessible(page, 'tools');
    await screenshot(page, 'tools');

    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('cell', { name: 'tick', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Pause tick' }).click();
    await page.getByRole('dialog', { name: 'Pause tick' }).getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('button', { name: 'Resume tick' }).waitFor();
    await expectAccessible(page, 'schedules');
    await screenshot(page, 'schedules');

    await page.getByRole('link', { name: 'Runs' }).click();
    await page.locator('tr[data-run]').first().waitFor();
    await expectAccessible(page, 'runs');
    await screenshot(page, 'runs');
  });

  it('keeps the runs list live from the run stream: new runs on top, status and cost in place, no polling and no detail per row', async () => {
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.locator('tr[data-run]').first().waitFor();
    // Every API request the page makes from here on.
    const requests: string[] = [];
    const onRequest = (request: { url(): string; method(): string }) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/v1/')) requests.push(`${request.method()} ${url.pathname}`);
    };
    page.on('request', onRequest);
    try {
      const row = (id: string) => page.locator(`tr[data-run="${id}"]`);
      const long = await startRun('long');
      // A new run appears at the top, and its status changes in place.
      await row(long.id).waitFor();
      expect(await page.locator('tr[data-run]').first().getAttribute('data-run')).toBe(long.id);
      await row(long.id).locator('.badge.status-waiting').waitFor();
      await api('POST', `/v1/runs/${long.id}/cancel`, { reason: 'runs list test' });
      await row(long.id).locator('.badge.status-cancelled').waitFor();
      // An agent run's cost shows once it has one, from the change that ended the run.
      const asked = await startRun('ask', {}, 20_000);
      expect(asked.status).toBe('succeeded');
      const cost = (await api<{ usage: { cost_usd: number } }>('GET', `/v1/runs/${asked.id}`)).usage.cost_usd;
      await row(asked.id).locator('.badge.status-succeeded').waitFor();
      expect(await row(asked.id).locator('td').nth(5).textContent()).toBe(`$${cost.toFixed(cost >= 1 ? 2 : 4)}`);
      // All of that came from the one stream: the list was not fetched again, nor any run's detail.
      expect(requests.filter((r) => r === 'GET /v1/runs')).toEqual([]);
      expect(requests.filter((r) => /^GET \/v1\/runs\/(?!stream$)/.test(r))).toEqual([]);

      // Search by a piece of the id (any case): only that run is listed.
      await page.getByLabel('Run id').fill(long.id.slice(-10).toUpperCase());
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => page.locator('tr[data-run]').count()).toBe(1);
      expect(await page.locator('tr[data-run]').first().getAttribute('data-run')).toBe(long.id);
      await page.getByLabel('Run id').fill('');
      await page.getByRole('button', { name: 'Apply' }).click();
      await row(asked.id).waitFor();
    } finally {
      page.off('request', onRequest);
    }
  });

  it('shows a viewer no action buttons, and explains the 403 if the viewer forces one', async () => {
    const run = await startRun('long');
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await newPage(viewer);
      await signIn(p, KEYS.viewer);
      await p.goto(`${base}/ui/runs/${run.id}`);
      await p.locator('g.node[data-step="wait"]').waitFor();
      expect(await p.getByRole('group', { name: 'Run actions' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
      await p.goto(`${base}/ui/tools`);
      await p.locator('[data-tool="community"]').waitFor();
      expect(await p.getByRole('button', { name: /Disable|Enable/ }).count()).toBe(0);

      // Forced: the console is told the viewer may write (a doctored whoami); the API still refuses.
      await p.route('**/v1/auth/whoami', async (route) => {
        const response = await route.fetch();
        const me = (await response.json()) as { scopes: string[] };
        await route.fulfill({ response, json: { ...me, scopes: [...me.scopes, 'runs:write'] } });
      });
      await p.goto(`${base}/ui/runs/${run.id}`);
      await p.getByRole('button', { name: 'Cancel run' }).click();
      await p.getByRole('dialog', { name: 'Cancel run' }).getByRole('button', { name: 'Cancel the run' }).click();
      await p.getByRole('dialog', { name: 'Cancel run' }).getByRole('alert').getByText('Your key does not allow this').waitFor();
      expect((await api<{ status: string }>('GET', `/v1/runs/${run.id}`)).status).not.toBe('cancelled');
    } finally {
      await viewer.close();
      await api('POST', `/v1/runs/${run.id}/cancel`, { reason: 'test done' });
    }
  });

  it('works at phone width, and the pages loaded no inline script the CSP refused', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      const p = await newPage(phone);
      await signIn(p, KEYS.operator);
      const runs = await api<{ items: { id: string; workflow: string }[] }>('GET', '/v1/runs?workflow=fanout');
      await p.goto(`${base}/ui/runs/${runs.items[0]!.id}`);
      await p.locator('g.node[data-step="join"][data-status="succeeded"]').waitFor();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await expectAccessible(p, 'run (phone)');
      await screenshot(p, 'run-phone');
      // Keyboard: the skip link first, then the navigation.
      await p.keyboard.press('Tab');
      expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    } finally {
      await phone.close();
    }
    expect(cspErrors).toEqual([]);
  });
});
