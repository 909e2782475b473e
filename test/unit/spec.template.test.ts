import { describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { checkExpression, evaluateExpression, parseDuration, renderTemplate, templateReferences, type TemplateScope } from '../../src/spec/index.js';

const scope: TemplateScope = {
  input: { ticket: 'T-1', count: 3, ratio: 0.5, tags: ['a', 'b'], customer: { id: 7, name: 'Ada' } },
  steps: { fetch: { output: { body: { items: [{ id: 1 }, { id: 2 }] }, status: 200 }, status: 'succeeded' } },
  run: { id: 'run_1', workflow: 'demo' },
  env: { TOKEN: 'secret-token' },
  item: { id: 9 },
  index: 2,
};

describe('renderTemplate', () => {
  it('keeps the type of a value that is exactly one template', () => {
    expect(renderTemplate('{{ input.customer }}', scope)).toEqual({ id: 7, name: 'Ada' });
    expect(renderTemplate('{{ input.count }}', scope)).toBe(3);
    expect(renderTemplate('{{ input.tags }}', scope)).toEqual(['a', 'b']);
    expect(renderTemplate('{{ input.count > 2 }}', scope)).toBe(true);
    expect(renderTemplate('  {{ input.ratio }}\n', scope)).toBe(0.5);
  });

  it('interpolates a string mixing text and templates, JSON-encoding objects', () => {
    expect(renderTemplate('ticket {{ input.ticket }} by {{ input.customer }} x{{ input.count }}', scope)).toBe('ticket T-1 by {"id":7,"name":"Ada"} x3');
  });

  it('renders deeply through objects and arrays and leaves other values alone', () => {
    const value = { url: 'https://x/{{ input.customer.id }}', body: ['{{ item.id }}', 5, null, { n: '{{ index }}' }], ok: true };
    expect(renderTemplate(value, scope)).toEqual({ url: 'https://x/7', body: [9, 5, null, { n: 2 }], ok: true });
  });

  it('reads env variables from the scope', () => {
    expect(renderTemplate('Bearer {{ env.TOKEN }}', scope)).toBe('Bearer secret-token');
  });

  it('does integer arithmetic on JSON numbers and returns plain numbers', () => {
    expect(renderTemplate('{{ input.count + 1 }}', scope)).toBe(4);
    expect(renderTemplate('{{ input.customer.id * input.count }}', scope)).toBe(21);
    expect(renderTemplate('{{ size(steps.fetch.output.body.items) }}', scope)).toBe(2);
    expect(renderTemplate('{{ steps.fetch.output.body.items.map(i, i.id * 10) }}', scope)).toEqual([10, 20]);
    expect(renderTemplate('{{ input.ratio * 2.0 }}', scope)).toBe(1);
  });

  it('handles braces and quotes inside an expression', () => {
    expect(renderTemplate('{{ {"a": {"b": input.count}} }}', scope)).toEqual({ a: { b: 3 } });
    expect(renderTemplate('{{ "}}" + input.ticket }}', scope)).toBe('}}T-1');
    expect(renderTemplate('{{ [1, "mixed", true] }}', scope)).toEqual([1, 'mixed', true]);
  });

  it('fails with expression_error and the CEL message for a bad expression', () => {
    expect(() => renderTemplate('{{ input.nope }}', scope)).toThrow("expression 'input.nope' failed: No such key: nope");
    expect(() => renderTemplate('{{ input.count + }}', scope)).toThrow(AgentryError);
    expect(() => renderTemplate('{{ input.count', scope)).toThrow(/unterminated/);
  });
});

describe('evaluateExpression', () => {
  it('evaluates CEL over the scope', () => {
    expect(evaluateExpression("steps.fetch.status == 'succeeded' && input.count >= 3", scope)).toBe(true);
    expect(evaluateExpression('has(input.customer.email)', scope)).toBe(false);
    expect(evaluateExpression('run.workflow', scope)).toBe('demo');
  });

  it('throws expression_error carrying the expression and the CEL message', () => {
    let caught: unknown;
    try {
      evaluateExpression('input.ratio + 1', scope);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AgentryError);
    expect((caught as AgentryError).code).toBe('expression_error');
    expect((caught as AgentryError).message).toContain('no such overload');
    expect((caught as AgentryError).details).toEqual({ expression: 'input.ratio + 1' });
  });

  it('rejects integer results that JSON numbers cannot hold exactly', () => {
    expect(() => evaluateExpression('9007199254740993', scope)).toThrow(/too large/);
  });
});

describe('templateReferences', () => {
  it('finds steps and env variables from the CEL AST with the path of each expression', () => {
    const refs = templateReferences({
      url: '{{ steps.fetch.output.url }}',
      headers: { auth: 'Bearer {{ env.TOKEN }}' },
      list: ['{{ steps["other"].output.map(x, x.id) }}', 'plain', 4],
    });
    expect([...refs.steps].sort()).toEqual(['fetch', 'other']);
    expect([...refs.env]).toEqual(['TOKEN']);
    expect(refs.expressions).toEqual([
      { expr: 'steps.fetch.output.url', path: ['url'] },
      { expr: 'env.TOKEN', path: ['headers', 'auth'] },
      { expr: 'steps["other"].output.map(x, x.id)', path: ['list', 0] },
    ]);
  });

  it('does not mistake a macro variable or a text mention for a reference', () => {
    const refs = templateReferences('steps.fake {{ input.list.map(steps, steps.id) }}');
    expect(refs.steps.size).toBe(0);
  });

  it('reports a malformed template instead of an expression', () => {
    expect(templateReferences('{{ }}').expressions).toEqual([{ expr: '{{ }}', path: [], error: "empty '{{ }}' at column 1" }]);
  });
});

describe('checkExpression', () => {
  it('returns the CEL parse error or undefined', () => {
    expect(checkExpression('input.a == 1')).toBeUndefined();
    expect(checkExpression('input.a ==')).toBe('Unexpected token: EOF (at column 11)');
  });
});

describe('parseDuration', () => {
  it('reads units, compound durations and milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration(250)).toBe(250);
  });

  it('rejects anything else', () => {
    for (const bad of ['', '5', '1.5s', '2 s', '1w', -1, 1.5]) expect(() => parseDuration(bad)).toThrow(/invalid duration/);
  });
});
