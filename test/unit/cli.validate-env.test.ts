/**
 * `agentry validate --env <name>`: every workflow breaking the environment's policy is reported
 * at its file:line with the rule's name, `--strict` fails on warnings, an undeclared
 * environment is an error; and a local `agentry run` in that environment is refused with
 * `policy_violation` while the same workflow runs in another.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

let dir: string;

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

const AGENTRY_YAML = `version: v1
environments:
  dev: {}
  production:
    policy:
      max_run_cost_usd: 5
      require_approval: { step_kinds: [http] }
      egress_allow: [api.example.com, "*.internal.example.com"]
`;

const FETCH = `version: v1
name: fetch
budget: { max_cost_usd: 20 }
steps:
  get:
    http: { url: "https://evil.example.org/x" }
  templ:
    http: { url: "https://{{ input.host }}/x" }
`;

const SMALL = `version: v1
name: small
budget: { max_cost_usd: 1 }
steps:
  a:
    transform: { n: 1 }
  b:
    needs: [a]
    transform: { n: 2 }
`;

beforeEach(() => {
  dir = tempDir('agentry-validate-env-');
  write({ 'agentry.yaml': AGENTRY_YAML, 'workflows/fetch.yaml': FETCH, 'workflows/small.yaml': SMALL });
});

afterEach(() => removeDir(dir));

describe('agentry validate --env', () => {
  it('reports every rule a workflow breaks in production at its file:line, naming the rule, and exits 2', async () => {
    const result = await runCliInProcess(['validate', dir, '--env', 'production']);
    expect(result.code).toBe(2);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(
      "workflows/fetch.yaml:3:25 budget.max_cost_usd: policy production: max_run_cost_usd: budget.max_cost_usd 20 is above this environment's max_run_cost_usd 5",
    );
    expect(lines.some((l) => l.startsWith('workflows/fetch.yaml:6:11 steps.get.http: policy production: require_approval:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('workflows/fetch.yaml:6:18 steps.get.http.url: policy production: egress_allow: host evil.example.org'))).toBe(true);
    expect(lines.some((l) => l.startsWith('workflows/fetch.yaml:8:18 steps.templ.http.url: warning: policy production: egress_allow:'))).toBe(true);
    expect(result.stdout).not.toContain('small.yaml');
    expect(result.stdout).toContain('✗ 4 errors, 1 warning');
  });

  it('passes the same project in dev, and as JSON names the environment', async () => {
    const result = await runCliInProcess(['validate', dir, '--env', 'dev', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: true, environment: 'dev', workflows: ['fetch', 'small'], diagnostics: [] });
  });

  it('AGENTRY_ENVIRONMENT selects the environment when --env is not given', async () => {
    const result = await runCliInProcess(['validate', dir, '--json'], { env: { AGENTRY_ENVIRONMENT: 'production' } });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, environment: 'production' });
  });

  it('--strict fails on a warning alone', async () => {
    write({ 'workflows/fetch.yaml': FETCH.replace('budget: { max_cost_usd: 20 }', 'budget: { max_cost_usd: 2 }').replace(/ {2}get:\n.*\n/, '') });
    write({ 'agentry.yaml': AGENTRY_YAML.replace('      require_approval: { step_kinds: [http] }\n', '') });
    const lax = await runCliInProcess(['validate', dir, '--env', 'production']);
    expect(lax.stdout).toContain('warning: policy production: egress_allow');
    expect(lax.code).toBe(0);
    const strict = await runCliInProcess(['validate', dir, '--env', 'production', '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toContain('(--strict: warnings fail)');
  });

  it('an environment agentry.yaml does not declare is an error naming the declared ones', async () => {
    const result = await runCliInProcess(['validate', dir, '--env', 'staging']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("environment 'staging' (--env) is not defined; defined: dev, production");
  });

  it('a local run breaking the active policy is refused with policy_violation naming the rule; in dev it runs', async () => {
    const env = { AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}` };
    const refused = await runCliInProcess(['run', 'fetch', '--dir', dir], { env: { ...env, AGENTRY_ENVIRONMENT: 'production' } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('policy_violation');
    expect(refused.stderr).toContain('max_run_cost_usd');
    const ran = await runCliInProcess(['run', 'small', '--dir', dir, '--wait', '--json'], { env: { ...env, AGENTRY_ENVIRONMENT: 'dev' } });
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: 'succeeded' });
  });
});

describe('agentry spec lint', () => {
  it('validate exits 0 on a warning alone, spec lint exits 1; an error is 2 for both', async () => {
    write({ 'agentry.yml': 'version: v1\n' });
    const validate = await runCliInProcess(['validate', dir]);
    expect(validate.stdout).toContain('warning: both agentry.yaml and agentry.yml exist');
    expect(validate.code).toBe(0);
    const lint = await runCliInProcess(['spec', 'lint', dir]);
    expect(lint.code).toBe(1);
    expect(lint.stdout).toContain('(--strict: warnings fail)');
    const broken = await runCliInProcess(['spec', 'lint', dir, '--env', 'production', '--json']);
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.stdout)).toMatchObject({ valid: false, environment: 'production' });
  });

  it('exits 0 on a clean project', async () => {
    const lint = await runCliInProcess(['spec', 'lint', dir, '--env', 'dev']);
    expect(lint.code).toBe(0);
  });
});

describe('agentry config secrets', () => {
  const OPENAI = `version: v1
providers:
  oa: { type: openai }
models:
  fast: { targets: [{ provider: oa, model: gpt-4o-mini }] }
`;
  it('lists OPENAI_API_KEY unresolved while unset and resolved once set, never printing the value', async () => {
    write({ 'gateway.yaml': OPENAI });
    const unset = await runCliInProcess(['config', 'secrets', '--dir', dir, '--json'], { env: { OPENAI_API_KEY: undefined } });
    expect(unset.code).toBe(0);
    expect(JSON.parse(unset.stdout).items).toContainEqual(expect.objectContaining({ name: 'OPENAI_API_KEY', resolved: false }));
    const value = ['sk', 'test', 'Zq8Wm3Lp0Rt6Yx2Nv5Bc'].join('-');
    const set = await runCliInProcess(['config', 'secrets', '--dir', dir, '--json'], { env: { OPENAI_API_KEY: value } });
    expect(JSON.parse(set.stdout).items).toContainEqual(expect.objectContaining({ name: 'OPENAI_API_KEY', resolved: true }));
    expect(set.stdout).not.toContain(value);
    const human = await runCliInProcess(['config', 'secrets', '--dir', dir], { env: { OPENAI_API_KEY: value } });
    expect(human.stdout).toContain('OPENAI_API_KEY');
    expect(human.stdout).not.toContain(value);
  });
});
