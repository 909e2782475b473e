/**
 * Agent guardrails (`guardrails: { input: [...], output: [...] }` in agents/*.yaml): the schema
 * of a check, and the load-time checks the schema cannot express (a regex that does not compile
 * or is not safe to run, a JSON Schema that does not compile). The checks run in the agent loop
 * (runtime/agent-guardrails.ts).
 */
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import type { PathSegment, Problem } from './diagnostics.js';

const closed = { additionalProperties: false } as const;
const opt = Type.Optional;

export const GUARDRAIL_CHECKS = ['json_schema', 'regex', 'pii', 'max_length', 'llm_judge'] as const;
export const GUARDRAIL_ACTIONS = ['block', 'redact', 'review'] as const;
export const PII_DETECTORS = ['email', 'phone', 'credit_card', 'iban', 'us_ssn'] as const;
export type GuardrailCheckName = (typeof GUARDRAIL_CHECKS)[number];
export type GuardrailAction = (typeof GUARDRAIL_ACTIONS)[number];
export type PiiDetector = (typeof PII_DETECTORS)[number];

/** Longest deny-list pattern accepted. */
export const MAX_REGEX_PATTERN_LENGTH = 200;
/** Most deny-list patterns in one check. */
export const MAX_REGEX_PATTERNS = 50;
/** Longest `criteria` of an LLM judge. */
export const MAX_JUDGE_CRITERIA_LENGTH = 2000;

export const GuardrailSchema = Type.Object(
  {
    check: Type.Enum([...GUARDRAIL_CHECKS], {
      description:
        'json_schema: the text must be JSON matching `schema`. regex: deny-list `patterns`. pii: `detectors`. max_length: at most `max` characters. llm_judge: a model (`model`, a model group of the gateway) judges the text against `criteria`.',
    }),
    action: opt(
      Type.Enum([...GUARDRAIL_ACTIONS], {
        description:
          'block: the step fails (guardrail_blocked). redact: the matches are masked (json_schema and review-only checks cannot redact). review: the output is held for a person. Default block.',
      }),
    ),
    patterns: opt(
      Type.Array(Type.String({ minLength: 1, maxLength: MAX_REGEX_PATTERN_LENGTH }), {
        minItems: 1,
        maxItems: MAX_REGEX_PATTERNS,
        description: `regex: deny-list of JavaScript regular expressions (at most ${MAX_REGEX_PATTERN_LENGTH} characters each; no backreferences, lookbehind or nested quantifiers).`,
      }),
    ),
    detectors: opt(
      Type.Array(Type.Enum([...PII_DETECTORS]), {
        minItems: 1,
        description: 'pii: which detectors run (credit_card with the Luhn check, iban with mod-97). Default all.',
      }),
    ),
    max: opt(Type.Integer({ minimum: 1, description: 'max_length: most characters allowed.' })),
    schema: opt(Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'json_schema: the JSON Schema (draft-07) the text must match.' })),
    model: opt(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'llm_judge: the model group of the gateway that judges (its calls are recorded with the run).',
      }),
    ),
    criteria: opt(
      Type.String({
        minLength: 1,
        maxLength: MAX_JUDGE_CRITERIA_LENGTH,
        description:
          'llm_judge: what the text must satisfy, in words ("no medical advice", "answers only about our products"). The check fires when the judge says it does not, or gives no verdict.',
      }),
    ),
  },
  { ...closed, description: 'One guardrail check.' },
);

export const GuardrailsSchema = Type.Object(
  {
    input: opt(Type.Array(GuardrailSchema, { description: "Checks on the prompt sent to the model (the agent's rendered prompt)." })),
    output: opt(Type.Array(GuardrailSchema, { description: "Checks on the agent's final answer." })),
  },
  { ...closed, description: 'Checks on what an agent is given and what it answers; every trigger is journaled and counted.' },
);

export type GuardrailSpec = Static<typeof GuardrailSchema>;
export type GuardrailsSpec = Static<typeof GuardrailsSchema>;

const ajv = new Ajv({ strict: false });

/**
 * A reason a pattern is not safe to run on model text, or undefined. Refused: backreferences,
 * lookbehind, and a quantified group that itself contains a quantifier (`(a+)+`, `(a|b*)*`), the
 * shapes that backtrack exponentially.
 */
export function unsafePattern(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_PATTERN_LENGTH) return `is longer than ${MAX_REGEX_PATTERN_LENGTH} characters`;
  if (/\\[1-9]|\\k</.test(pattern)) return 'uses a backreference';
  if (/\(\?<[=!]/.test(pattern)) return 'uses a lookbehind';
  // Track, per open group, whether it holds a quantifier; a quantified group holding one is nested.
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push(false);
    else if (c === ')') {
      const hadQuantifier = stack.pop() ?? false;
      const next = pattern[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (quantified && hadQuantifier) return 'nests a quantifier inside a quantified group (catastrophic backtracking)';
      if ((quantified || hadQuantifier) && stack.length > 0) stack[stack.length - 1] = true;
    } else if ((c === '*' || c === '+' || c === '{') && stack.length > 0) stack[stack.length - 1] = true;
  }
  return undefined;
}

/** The problems of an agent's `guardrails:` block the schema cannot see (paths relative to the agent file). */
export function guardrailProblems(guardrails: GuardrailsSpec | undefined): Problem[] {
  const problems: Problem[] = [];
  for (const phase of ['input', 'output'] as const) {
    (guardrails?.[phase] ?? []).forEach((g, index) => {
      const at: PathSegment[] = ['guardrails', phase, index];
      const need = (field: 'patterns' | 'max' | 'schema' | 'model' | 'criteria', check: GuardrailCheckName): void => {
        if (g.check === check && g[field] === undefined) problems.push({ path: at, message: `check ${check} needs '${field}'` });
      };
      need('patterns', 'regex');
      need('max', 'max_length');
      need('schema', 'json_schema');
      need('model', 'llm_judge');
      need('criteria', 'llm_judge');
      for (const field of ['patterns', 'max', 'schema', 'detectors', 'model', 'criteria'] as const) {
        const owner = { patterns: 'regex', max: 'max_length', schema: 'json_schema', detectors: 'pii', model: 'llm_judge', criteria: 'llm_judge' }[field];
        if (g[field] !== undefined && g.check !== owner)
          problems.push({ path: [...at, field], atKey: true, message: `'${field}' is only used by check ${owner}` });
      }
      if (g.action === 'redact' && (g.check === 'json_schema' || g.check === 'max_length' || g.check === 'llm_judge')) {
        problems.push({ path: [...at, 'action'], message: `check ${g.check} cannot redact; use block or review` });
      }
      if (phase === 'input' && g.action === 'review') {
        problems.push({ path: [...at, 'action'], message: 'review applies to output checks only; use block or redact on input' });
      }
      (g.patterns ?? []).forEach((pattern, i) => {
        const problem = patternProblem(pattern);
        if (problem !== undefined) problems.push({ path: [...at, 'patterns', i], message: `pattern ${problem}` });
      });
      if (g.schema !== undefined) {
        try {
          ajv.compile(g.schema);
        } catch (error) {
          problems.push({ path: [...at, 'schema'], message: `is not a valid JSON Schema: ${(error as Error).message}` });
        }
      }
    });
  }
  return problems;
}

function patternProblem(pattern: string): string | undefined {
  const unsafe = unsafePattern(pattern);
  if (unsafe !== undefined) return unsafe;
  try {
    new RegExp(pattern, 'g');
    return undefined;
  } catch (error) {
    return `does not compile: ${(error as Error).message}`;
  }
}
