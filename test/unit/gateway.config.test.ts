import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentryError } from '../../src/lib/errors.js';
import { Gateway, InMemoryUsageLedger, redactSecrets, resolveGatewaySpec } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import type { GatewaySpec } from '../../src/spec/schemas.js';
import { validateSpec } from '../../src/spec/validate.js';

const EXAMPLE = `
version: v1
env:
  OPENAI_API_KEY: { secret: true, required: true }
  ANTHROPIC_API_KEY: { secret: true }
defaults:
  timeout: 60s
  retry: { max_attempts: 3, initial: 500ms, max: 30s }
  max_output_tokens: 4096
providers:
  openai: { type: openai, api_key: "{{ env.OPENAI_API_KEY }}" }
  claude: { type: anthropic, api_key: "{{ env.ANTHROPIC_API_KEY }}", timeout: 2m }
  local: { type: openai-compatible, base_url: "http://127.0.0.1:11434/v1" }
  demo:
    type: mock
    script:
      - when: { has_tool_results: false }
        reply: { tool_calls: [{ name: find_customer, arguments: { q: acme } }] }
      - reply: { content: { severity: high } }
        usage: { prompt_tokens: 100, completion_tokens: 20 }
models:
  smart:
    description: Best quality, falls back to Claude
    targets:
      - { provider: openai, model: gpt-4o, input_per_mtok: 2.5, output_per_mtok: 10 }
      - { provider: claude, model: claude-sonnet-4-5, input_per_mtok: 3, output_per_mtok: 15 }
    retry: { max_attempts: 2 }
  cheap: { targets: [{ provider: local, model: llama3.1 }] }
  demo: { targets: [{ provider: demo, model: demo-1 }] }
budgets:
  workflow_daily_usd: 20
  workflow_monthly_tokens: 9000000
  tenant_daily_usd: 100
  tenant_monthly_usd: 2000
  tenant_monthly_tokens: 400000000
  per_workflow: { support-triage: { daily_usd: 5 } }
  per_tenant: { acme: { daily_usd: 500, daily_tokens: 50000000 }, big: { monthly_usd: 8000 } }
`;

const logger = createLogger({ level: 'silent' });

describe('gateway.yaml', () => {
  it('accepts the documented example and resolves it against the environment', () => {
    const spec = parse(EXAMPLE) as GatewaySpec;
    expect(validateSpec('gateway', spec)).toEqual([]);
    const resolved = resolveGatewaySpec(spec, { OPENAI_API_KEY: 'sk-one-1234567890', ANTHROPIC_API_KEY: 'sk-ant-two-1234567890' });
    expect(resolved.groups.get('smart')).toMatchObject({ retry: { maxAttempts: 2, initialMs: 500, maxMs: 30_000 }, targets: [{ maxOutputTokens: 4096 }, {}] });
    expect(resolved.providers.get('claude')).toMatchObject({ timeoutMs: 120_000, apiKeyEnv: 'ANTHROPIC_API_KEY' });
    // A named entry replaces the defaults of the periods it sets, and keeps the others.
    expect(resolved.budgets.workflow('support-triage')).toEqual({ day: { usd: 5 }, month: { tokens: 9_000_000 } });
    expect(resolved.budgets.workflow('other')).toEqual({ day: { usd: 20 }, month: { tokens: 9_000_000 } });
    expect(resolved.budgets.tenant('acme')).toEqual({ day: { usd: 500, tokens: 50_000_000 }, month: { usd: 2000, tokens: 400_000_000 } });
    expect(resolved.budgets.tenant('big')).toEqual({ day: { usd: 100 }, month: { usd: 8000 } });
    expect(resolved.budgets.tenant('other')).toEqual({ day: { usd: 100 }, month: { usd: 2000, tokens: 400_000_000 } });
    expect(resolved.secrets).toEqual(expect.arrayContaining(['sk-one-1234567890', 'sk-ant-two-1234567890']));
  });

  it('refuses a literal key in the file', () => {
    const problems = validateSpec('gateway', { providers: { openai: { type: 'openai', api_key: 'sk-live-abc' } }, models: {} });
    expect(problems).toEqual([expect.objectContaining({ path: ['providers', 'openai', 'api_key'], message: expect.stringContaining('must be a reference') })]);
  });

  it('fails with secret_missing naming the variable, not its value, when a provider key is unset', () => {
    const spec: GatewaySpec = { providers: { openai: { type: 'openai' } }, models: { m: { targets: [{ provider: 'openai', model: 'x' }] } } };
    const make = () => new Gateway({ spec, env: {}, logger, ledger: new InMemoryUsageLedger() });
    expect(make).toThrow(AgentryError);
    expect(make).toThrow(/env\.OPENAI_API_KEY/);
    const required: GatewaySpec = { ...spec, env: { OPENAI_API_KEY: { secret: true, required: true } } };
    expect(() => resolveGatewaySpec(required, {})).toThrow(expect.objectContaining({ code: 'secret_missing', details: { variables: ['OPENAI_API_KEY'] } }));
  });

  it('reports cross-field mistakes together as spec_invalid', () => {
    const spec: GatewaySpec = {
      providers: { local: { type: 'openai-compatible' }, demo: { type: 'mock', base_url: 'http://x' } },
      models: { m: { targets: [{ provider: 'nope', model: 'x' }] } },
    };
    try {
      resolveGatewaySpec(spec, {});
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'spec_invalid' });
      expect((error as AgentryError).message).toMatch(/needs base_url.*takes no api_key or base_url.*unknown provider 'nope'/);
    }
  });
});

describe('redactSecrets', () => {
  it('removes configured values and key-shaped strings but leaves ordinary text', () => {
    const text = 'key=sk-proj-abcdefghijklmnop, token hunter2secret, Authorization: Bearer abc.def.ghi123, x-api-key: zzzzzzzz, plain words';
    const out = redactSecrets(text, ['hunter2secret']);
    for (const gone of ['sk-proj-abcdefghijklmnop', 'hunter2secret', 'abc.def.ghi123', 'zzzzzzzz']) expect(out).not.toContain(gone);
    expect(out).toContain('plain words');
    expect(redactSecrets('nothing to hide here', ['short'])).toBe('nothing to hide here');
  });
});
