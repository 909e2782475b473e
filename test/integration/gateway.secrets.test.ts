import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gateway, InMemoryUsageLedger } from '../../src/gateway/index.js';
import { createLogger } from '../../src/obs/logger.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeServer } from '../fixtures/fake-openai.js';

const OPENAI_KEY = 'sk-proj-PLANTEDopenai0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-api03-PLANTEDanthropic9876543210';
const masked = (key: string): string => `${key.slice(0, 8)}****${key.slice(-4)}`;

let openai: FakeServer;
let anthropic: FakeServer;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

/** Every message, stack and property of an error and of its cause chain, as text. */
function everythingAbout(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: null, showHidden: true })];
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    parts.push(
      e.message,
      e.stack ?? '',
      JSON.stringify(e),
      JSON.stringify(Object.getOwnPropertyNames(e).map((k) => String((e as unknown as Record<string, unknown>)[k]))),
    );
  }
  return parts.join('\n');
}

describe('gateway secrets', () => {
  it('never shows a provider key in log lines, errors, their causes, call records or the serialised gateway', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => lines.push(line) } });
    const ledger = new InMemoryUsageLedger();
    const gateway = new Gateway({
      spec: {
        env: { OPENAI_KEY: { secret: true, required: true }, CLAUDE_KEY: { secret: true } },
        providers: {
          oa: { type: 'openai', base_url: openai.url, api_key: '{{ env.OPENAI_KEY }}' },
          claude: { type: 'anthropic', base_url: anthropic.url, api_key: '{{ env.CLAUDE_KEY }}' },
        },
        models: {
          smart: {
            targets: [
              { provider: 'oa', model: 'gpt-test' },
              { provider: 'claude', model: 'claude-test' },
            ],
            retry: { max_attempts: 2 },
          },
          claude: { targets: [{ provider: 'claude', model: 'claude-test' }], retry: { max_attempts: 1 } },
        },
      },
      env: { OPENAI_KEY: OPENAI_KEY, CLAUDE_KEY: ANTHROPIC_KEY },
      logger,
      ledger,
      sleep: () => Promise.resolve(),
    });
    // Upstreams that echo the key back, as real ones do in auth and proxy errors.
    const echo = (key: string, status: number) => ({
      status,
      body: {
        error: {
          message: `Incorrect API key provided: ${key} (${masked(key)}), header Authorization: Bearer ${key}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    });
    openai.respond = () => echo(OPENAI_KEY, 500);
    anthropic.replies.push({ ...echo(ANTHROPIC_KEY, 503), body: { type: 'error', error: { type: 'overloaded_error', message: `bad key ${ANTHROPIC_KEY}` } } });
    anthropic.replies.push(echo(ANTHROPIC_KEY, 401), echo(ANTHROPIC_KEY, 403));

    const seen: string[] = [];
    const fallback = await gateway.chat({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, { tenantId: 't' }).catch((e: unknown) => e);
    seen.push(everythingAbout(fallback));
    const direct = await gateway.chat({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, { tenantId: 't' }).catch((e: unknown) => e);
    expect(direct).toMatchObject({ code: 'provider_error', details: { status: 403 } });
    seen.push(everythingAbout(direct));
    const streamed = await (async () => {
      openai.respond = () => echo(OPENAI_KEY, 401);
      for await (const _ of gateway.stream({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, { tenantId: 't' })) {
        // fails before the first chunk
      }
    })().catch((e: unknown) => e);
    seen.push(everythingAbout(streamed));
    seen.push(
      ...lines,
      JSON.stringify(ledger.records),
      JSON.stringify(gateway),
      inspect(gateway, { depth: null, showHidden: true }),
      gateway.redact(`x ${OPENAI_KEY} y`),
    );

    // The keys were planted and really sent upstream...
    expect(openai.requests[0]?.auth).toBe(`Bearer ${OPENAI_KEY}`);
    expect(anthropic.requests[0]?.auth).toContain(ANTHROPIC_KEY);
    expect(fallback).toMatchObject({ code: 'provider_error', details: { status: 401 } });
    expect(lines.length).toBeGreaterThan(0);
    // ...and never came back out.
    const all = seen.join('\n');
    for (const needle of [OPENAI_KEY, ANTHROPIC_KEY, masked(OPENAI_KEY), masked(ANTHROPIC_KEY), 'PLANTED']) {
      expect(all).not.toContain(needle);
    }
    expect(all).toContain('[redacted]');
  });
});
