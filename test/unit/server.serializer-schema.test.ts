/**
 * Response schemas as the serializer gets them (`serializerSchema` in `src/server/lazy-schemas.ts`):
 * each `Nullable(x)` becomes `x` with `nullable: true`, so fast-json-stringify tests for null
 * instead of running a validator per branch. The JSON written must stay exactly what the schema
 * as written gives, for null and non-null values alike.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { RunDetailSchema, RunPageSchema } from '../../src/app/dto/runs.js';
import { serializerSchema } from '../../src/server/lazy-schemas.js';

type Serializer = (value: unknown) => string;
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const build = (fromFastify('@fastify/fast-json-stringify-compiler') as () => (external: unknown, options: unknown) => (route: object) => Serializer)()({}, {});
const serializer = (schema: unknown): Serializer => build({ schema, method: 'GET', url: '/x', httpStatus: '200' });

const step = {
  id: 'a',
  kind: 'transform',
  status: 'succeeded',
  attempt: 1,
  started_at: '2026-12-05T13:19:46.392Z',
  finished_at: '2026-12-05T13:19:46.425Z',
  duration_ms: 33,
  available_at: null,
  output: { greeting: 'Hello' },
  error: null,
  meta: null,
};
const detail = {
  id: 'run_1',
  workflow: 'greet',
  status: 'failed',
  input: { name: 'Ada' },
  output: null,
  error: { code: 'step_failed', message: 'boom', retryable: false },
  priority: 0,
  tenant_id: 'default',
  spec_hash: 'abc',
  created_at: '2026-12-05T13:19:46.327Z',
  started_at: '2026-12-05T13:19:46.392Z',
  finished_at: null,
  deadline_at: null,
  updated_at: '2026-12-05T13:19:46.451Z',
  last_event_seq: 6,
  retry_of: null,
  created_by: 'bench',
  metadata: { team: 'ops' },
  overrides: null,
  adhoc: false,
  parent: { run_id: 'run_0', step_id: 'child' },
  trace_id: null,
  steps: [
    step,
    { ...step, id: 'b', started_at: null, finished_at: null, duration_ms: null, available_at: '2026-12-05T13:19:46.327Z', error: { code: 'x', message: 'y' } },
  ],
  children: [],
  usage: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
  artifacts: ['out/report.md'],
};

/** Every `anyOf` left in a schema (none should be a nullable one). */
function anyOfs(schema: unknown, found: unknown[] = []): unknown[] {
  if (Array.isArray(schema)) for (const item of schema) anyOfs(item, found);
  else if (schema !== null && typeof schema === 'object') {
    if ('anyOf' in schema) found.push(schema);
    for (const value of Object.values(schema)) anyOfs(value, found);
  }
  return found;
}

describe('serializerSchema', () => {
  it('turns every Nullable(x) of a run detail into x with nullable: true', () => {
    expect(anyOfs(RunDetailSchema).length).toBeGreaterThan(10);
    const prepared = serializerSchema(RunDetailSchema) as { properties: Record<string, unknown> };
    expect(anyOfs(prepared)).toEqual([]);
    expect(prepared.properties.started_at).toMatchObject({ type: 'string', format: 'date-time', nullable: true });
    expect(prepared.properties.error).toMatchObject({ type: 'object', nullable: true });
  });

  it('writes the same JSON as the schema as written, nulls and values alike', () => {
    for (const [schema, value] of [
      [RunDetailSchema, detail],
      // A listed run carries its cost (`cost_usd`) as the detail does in `usage`.
      [RunPageSchema, { items: [{ ...detail, cost_usd: 0.25 }], next_cursor: null }],
      [RunPageSchema, { items: [], next_cursor: 'c1' }],
    ] as const) {
      expect(serializer(serializerSchema(schema))(value)).toBe(serializer(schema)(value));
    }
    expect(JSON.parse(serializer(serializerSchema(RunDetailSchema))(detail))).toEqual(detail);
  });

  it('leaves an anyOf that is not a plain nullable one as it is', () => {
    const schema = {
      type: 'object',
      properties: {
        either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        nullRef: { anyOf: [{ $ref: 'Problem#' }, { type: 'null' }] },
        plain: { anyOf: [{ type: 'string', description: 'a' }, { type: 'null' }], description: 'b' },
      },
    };
    const prepared = serializerSchema(schema) as { properties: Record<string, unknown> };
    expect(prepared.properties.either).toEqual(schema.properties.either);
    expect(prepared.properties.nullRef).toEqual(schema.properties.nullRef);
    // The branch's own keywords win over the union's siblings.
    expect(prepared.properties.plain).toEqual({ type: 'string', description: 'a', nullable: true });
  });
});
