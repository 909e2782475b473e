/**
 * Agent guardrails: the PII detectors (Luhn, mod-97 …), the pattern safety check, the checks run
 * on a value, and the diagnostics (file:line) of a malformed `guardrails:` block.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/app/project.js';
import { applyGuardrails, judgeRequest, judgeVerdict, MAX_SCAN_CHARS } from '../../src/runtime/agent-guardrails.js';
import type { ChatResponse } from '../../src/gateway/types.js';
import { detectPii, ibanValid, luhnValid, maskSpans } from '../../src/runtime/guardrail-detectors.js';
import { unsafePattern } from '../../src/spec/guardrails.js';
import { formatDiagnostic, type StepKind } from '../../src/spec/index.js';

const detected = (text: string) => detectPii(text).map((f) => [f.detector, text.slice(f.start, f.end)]);

describe('PII detectors', () => {
  it('checks card numbers with Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(detected('card 4111 1111 1111 1111, or 4111-1111-1111-1111')).toEqual([
      ['credit_card', '4111 1111 1111 1111'],
      ['credit_card', '4111-1111-1111-1111'],
    ]);
    expect(detected('order 4111111111111112 shipped')).toEqual([]);
  });

  it('checks IBANs with mod-97', () => {
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(detected('pay to DE89 3704 0044 0532 0130 00 today')).toEqual([['iban', 'DE89 3704 0044 0532 0130 00']]);
    expect(detected('ref DE89370400440532013001')).toEqual([]);
  });

  it('finds US SSNs, emails and phone numbers, and no phone inside a card number', () => {
    expect(detected('SSN 123-45-6789')).toEqual([['us_ssn', '123-45-6789']]);
    expect(detectPii('not an SSN: 000-12-3456 or 666-12-3456', ['us_ssn'])).toEqual([]);
    expect(detected('mail jane.doe+x@mail.example.co.uk now')).toEqual([['email', 'jane.doe+x@mail.example.co.uk']]);
    expect(detected('call +1 415-555-0123 or (030) 1234 5678')).toEqual([
      ['phone', '+1 415-555-0123'],
      ['phone', '(030) 1234 5678'],
    ]);
    expect(detected('it costs 1234567 dollars in 2026')).toEqual([]);
    expect(detectPii('a@b.io 123-45-6789', ['email']).map((f) => f.detector)).toEqual(['email']);
  });

  it('masks spans', () => {
    expect(
      maskSpans('a 1 b 2', [
        { start: 6, end: 7, label: 'x' },
        { start: 2, end: 3, label: 'y' },
      ]),
    ).toBe('a [REDACTED:y] b [REDACTED:x]');
  });
});

describe('pattern safety', () => {
  it('refuses backtracking shapes and long patterns, accepts ordinary ones', () => {
    expect(unsafePattern('(a+)+$')).toMatch(/nests a quantifier/);
    expect(unsafePattern('(a|b*)*')).toMatch(/nests a quantifier/);
    expect(unsafePattern('((ab)+c)*')).toMatch(/nests a quantifier/);
    expect(unsafePattern('(a)\\1')).toMatch(/backreference/);
    expect(unsafePattern('(?<=a)b')).toMatch(/lookbehind/);
    expect(unsafePattern('x'.repeat(201))).toMatch(/longer than 200/);
    expect(unsafePattern('ignore (all|previous) instructions')).toBeUndefined();
    expect(unsafePattern('[(+)]+\\d{3}')).toBeUndefined();
    expect(unsafePattern('(?:ab){2,3}')).toBeUndefined();
  });
});

describe('applyGuardrails', () => {
  it('redacts in every string of a JSON answer and later checks see the redacted value', async () => {
    const outcome = await applyGuardrails(
      'a',
      {
        output: [
          { check: 'pii', action: 'redact' },
          { check: 'regex', patterns: ['REDACTED'], action: 'review' },
        ],
      },
      'output',
      { note: 'mail x@y.org', list: ['SSN 123-45-6789', 3] },
    );
    expect(outcome.value).toEqual({ note: 'mail [REDACTED:email]', list: ['SSN [REDACTED:us_ssn]', 3] });
    expect(outcome.review).toBe(true);
    expect(outcome.triggers.map((t) => [t.check, t.action, t.detail])).toEqual([
      ['pii', 'redact', { detectors: { email: 1, us_ssn: 1 } }],
      ['regex', 'review', { patterns: [0], matches: 2 }],
    ]);
  });

  it('blocks on max_length and json_schema with guardrail_blocked, and stops at the first block', async () => {
    const long = await applyGuardrails(
      'a',
      {
        output: [
          { check: 'max_length', max: 5 },
          { check: 'pii', action: 'redact' },
        ],
      },
      'output',
      'a@b.io is long',
    );
    expect(long.blocked).toMatchObject({ code: 'guardrail_blocked', details: { check: 'max_length', detail: { length: 14, max: 5 } } });
    expect(long.triggers).toHaveLength(1);
    const schema = { type: 'object', required: ['ok'] };
    expect((await applyGuardrails('a', { output: [{ check: 'json_schema', schema }] }, 'output', 'not json')).blocked?.details).toMatchObject({
      detail: { errors: ['the text is not JSON'] },
    });
    expect((await applyGuardrails('a', { output: [{ check: 'json_schema', schema }] }, 'output', { ok: 1 })).triggers).toEqual([]);
  });

  it('reads at most MAX_SCAN_CHARS of a string with deny-list patterns', async () => {
    const text = `${'x'.repeat(MAX_SCAN_CHARS)}secret`;
    expect((await applyGuardrails('a', { input: [{ check: 'regex', patterns: ['secret'] }] }, 'input', text)).triggers).toEqual([]);
    expect((await applyGuardrails('a', { input: [{ check: 'regex', patterns: ['secret'] }] }, 'input', `secret${text}`)).blocked?.code).toBe(
      'guardrail_blocked',
    );
  });
});

describe('guardrails in agents/*.yaml', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const AVAILABLE: ReadonlySet<StepKind> = new Set(['transform', 'agent']);

  async function errorsOf(lines: string[], gateway?: string): Promise<string[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentry-guard-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'agents'));
    if (gateway !== undefined) fs.writeFileSync(path.join(dir, 'gateway.yaml'), gateway);
    fs.writeFileSync(path.join(dir, 'agents', 'a.yaml'), `${['name: a', 'model: m', 'guardrails:', ...lines].join('\n')}\n`);
    const { diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE, env: {} });
    return diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }

  it('reports an unsafe pattern, a missing field, a misplaced field and an unknown check with file:line', async () => {
    const errors = await errorsOf([
      '  input:',
      '    - check: regex',
      "      patterns: ['ok', '(a+)+b']",
      '  output:',
      '    - check: max_length',
      '      action: redact',
      '    - check: pii',
      '      max: 3',
    ]);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^agents\/a\.yaml:6:.*guardrails\.input\[0\]\.patterns\[1\].*nests a quantifier/),
        expect.stringMatching(/^agents\/a\.yaml:8:.*guardrails\.output\[0\].*needs 'max'/),
        expect.stringMatching(/^agents\/a\.yaml:9:.*guardrails\.output\[0\]\.action.*cannot redact/),
        expect.stringMatching(/^agents\/a\.yaml:11:.*guardrails\.output\[1\]\.max.*only used by check max_length/),
      ]),
    );
    expect(errors).toHaveLength(4);
    const unknown = await errorsOf(['  output:', '    - check: profanity']);
    expect(unknown).toEqual([expect.stringMatching(/^agents\/a\.yaml:5:.*guardrails\.output\[0\]\.check/)]);
  });

  it('reports an llm_judge without its model or criteria, or asked to redact, with file:line', async () => {
    const errors = await errorsOf(['  output:', '    - check: llm_judge', '      action: redact', '      criteria: no medical advice']);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^agents\/a\.yaml:5:.*guardrails\.output\[0\].*needs 'model'/),
        expect.stringMatching(/^agents\/a\.yaml:6:.*guardrails\.output\[0\]\.action.*cannot redact/),
      ]),
    );
    expect(errors).toHaveLength(2);
    expect(await errorsOf(['  output:', '    - check: llm_judge', '      model: judge', '      criteria: no medical advice', '      action: review'])).toEqual(
      [],
    );
  });
});

describe('llm_judge', () => {
  const judgeSpec = { check: 'llm_judge' as const, model: 'judge', criteria: 'no medical advice' };
  const answer = (content: string): ChatResponse =>
    ({
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
    }) as ChatResponse;

  it('reads the verdict from the first JSON object of the answer; anything else is no verdict', () => {
    expect(judgeVerdict(answer('{"pass": true}'))).toBe('pass');
    expect(judgeVerdict(answer('Sure. {"pass": false, "reason": "it prescribes"}'))).toBe('fail');
    expect(judgeVerdict(answer('{"pass": "yes"}'))).toBe('none');
    expect(judgeVerdict(answer('I cannot judge this'))).toBe('none');
    expect(judgeVerdict(answer('{not json}'))).toBe('none');
  });

  it('asks the judge model with the criteria and the text as data, cut to MAX_SCAN_CHARS', () => {
    const request = judgeRequest(judgeSpec, `${'x'.repeat(MAX_SCAN_CHARS)}tail`);
    expect(request.model).toBe('judge');
    const user = request.messages[1]!.content as string;
    expect(user).toContain('Criteria:\nno medical advice');
    expect(user).not.toContain('tail');
  });

  it('fires on fail and on no verdict (closed), passes on pass, and keeps no reason', async () => {
    const run = (verdict: 'pass' | 'fail' | 'none') =>
      applyGuardrails('a', { output: [{ ...judgeSpec, action: 'block' }] }, 'output', 'take two pills', () => Promise.resolve(verdict));
    expect((await run('pass')).triggers).toEqual([]);
    const failed = await run('fail');
    expect(failed.blocked?.code).toBe('guardrail_blocked');
    expect(failed.triggers).toEqual([{ phase: 'output', index: 0, check: 'llm_judge', action: 'block', detail: { verdict: 'fail', model: 'judge' } }]);
    expect((await run('none')).triggers[0]?.detail).toEqual({ verdict: 'none', model: 'judge' });
    // Without a judge to ask (no gateway), the check fires rather than letting the text through.
    expect((await applyGuardrails('a', { output: [judgeSpec] }, 'output', 'x')).blocked?.code).toBe('guardrail_blocked');
  });
});
