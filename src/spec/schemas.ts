/**
 * JSON Schemas of every spec kind (typebox), with the static types derived from them.
 * Every object is closed (`additionalProperties: false`) so an unknown or misspelt field is
 * an error. `errorMessage` (the ajv-errors keyword, string form) gives a readable message for
 * `pattern`, `const` and union failures; `scripts/write-schemas.ts` publishes these schemas
 * to `docs/schemas/<kind>.schema.json`.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DURATION_PATTERN } from './duration.js';
import type { JsonSchema } from './model.js';

export const NAME_PATTERN = '^[a-z][a-z0-9_-]*$';
export const STEP_ID_PATTERN = '^[a-z_][a-z0-9_]*$';
export const ENV_NAME_PATTERN = '^[A-Z_][A-Z0-9_]*$';

const closed = { additionalProperties: false } as const;
const opt = Type.Optional;

const Name = Type.String({
  pattern: NAME_PATTERN,
  errorMessage: 'must be lowercase letters, digits, - and _, starting with a letter',
});
const Description = opt(Type.String());
const Version = opt(Type.Literal('v1', { errorMessage: "must be 'v1' (the only supported version)" }));
const StringMap = Type.Record(Type.String(), Type.String(), closed);
const Any = Type.Unknown();
const JsonSchemaObject = Type.Unsafe<JsonSchema>({ type: 'object', description: 'A JSON Schema (draft-07).' });

function duration(description = 'A duration such as 500ms, 2s, 1h30m or 1d, or a whole number of milliseconds.') {
  return Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    errorMessage: 'must be a duration such as 500ms, 2s or 1h30m, or a whole number of milliseconds',
  });
}
export const DurationSchema = duration();
const Duration = DurationSchema;

export const EnvVarSchema = Type.Object(
  {
    secret: opt(Type.Boolean({ description: 'Never logged or returned. Default false.' })),
    required: opt(Type.Boolean({ description: 'A run cannot start while it is unset and has no default. Default false.' })),
    default: opt(Type.String()),
    description: Description,
  },
  closed,
);
const EnvMap = Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), EnvVarSchema, {
  ...closed,
  description: 'Environment variables the spec may read as {{ env.NAME }}; names are UPPER_SNAKE_CASE.',
});

export const RetrySchema = Type.Object(
  {
    max_attempts: opt(Type.Integer({ minimum: 1, maximum: 100, description: 'Total attempts including the first. Default 1.' })),
    backoff: opt(Type.Enum(['exponential', 'fixed'], { description: 'Default exponential.' })),
    initial: opt(duration('First delay. Default 1s.')),
    max: opt(duration('Longest delay. Default 1m.')),
    jitter: opt(Type.Boolean({ description: 'Full jitter on each delay. Default true.' })),
  },
  closed,
);

const OutputSpec = Type.Object(
  {
    schema: JsonSchemaObject,
    repair_attempts: opt(Type.Integer({ minimum: 0, description: 'Extra agent turns to fix invalid output. Default 0.' })),
  },
  closed,
);

const HttpStep = Type.Object(
  {
    url: Type.String(),
    method: opt(Type.Enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], { description: 'Default GET.' })),
    headers: opt(StringMap),
    query: opt(StringMap),
    body: opt(Any),
    timeout: opt(Duration),
    max_response_bytes: opt(Type.Integer({ minimum: 1 })),
    expect_status: opt(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }))),
  },
  closed,
);

const SleepStep = Type.Union(
  [Duration, Type.Object({ duration: Duration }, closed), Type.Object({ until: Type.String() }, closed)],
  { errorMessage: 'must be a duration, { duration: <duration> } or { until: <timestamp> }' },
);

const ToolStep = Type.Object({ server: Type.String(), name: Type.String(), args: opt(Any) }, closed);

const HumanStep = Type.Object(
  {
    title: Type.String(),
    instructions: opt(Type.String()),
    role: opt(Type.String()),
    assignees: opt(Type.Array(Type.String())),
    form: opt(Type.Object({ schema: JsonSchemaObject }, closed)),
    timeout: opt(Duration),
    on_timeout: opt(Type.Enum(['fail', 'continue', 'escalate'], { description: 'Default fail.' })),
    default: opt(Any),
    escalate_to: opt(Type.String()),
  },
  closed,
);

const ForEach = Type.Object(
  {
    from: Type.String({ description: 'CEL expression giving the list to map over.' }),
    concurrency: opt(Type.Integer({ minimum: 1 })),
    max_items: opt(Type.Integer({ minimum: 1 })),
    max_failures: opt(Type.Integer({ minimum: 0 })),
  },
  closed,
);

export const StepSchema = Type.Object(
  {
    description: Description,
    needs: opt(Type.Array(Type.String(), { description: 'Steps that must finish first.' })),
    when: opt(Type.String({ description: 'CEL condition (no braces); the step is skipped when false.' })),
    retry: opt(RetrySchema),
    timeout: opt(Duration),
    output: opt(OutputSpec),
    input: opt(Any),
    for_each: opt(ForEach),
    transform: opt(Any),
    http: opt(HttpStep),
    sleep: opt(SleepStep),
    agent: opt(Type.String({ description: 'Agent name (agents/*.yaml).' })),
    tool: opt(ToolStep),
    human: opt(HumanStep),
    workflow: opt(Type.String({ description: 'Sub-workflow name.' })),
  },
  closed,
);

export const WorkflowSchema = Type.Object(
  {
    version: Version,
    name: Name,
    description: Description,
    env: opt(EnvMap),
    input: opt(Type.Object({ schema: JsonSchemaObject }, closed)),
    defaults: opt(Type.Object({ retry: opt(RetrySchema), timeout: opt(Duration) }, closed)),
    deadline: opt(Duration),
    budget: opt(
      Type.Object({ max_tokens: opt(Type.Integer({ minimum: 0 })), max_cost_usd: opt(Type.Number({ minimum: 0 })) }, closed),
    ),
    concurrency: opt(Type.Object({ key: Type.String(), limit: Type.Integer({ minimum: 1 }) }, closed)),
    schedule: opt(
      Type.Object(
        {
          cron: Type.String(),
          timezone: opt(Type.String()),
          input: opt(Any),
          overlap: opt(Type.Enum(['skip', 'allow'], { description: 'Default skip.' })),
          catch_up: opt(Type.Enum(['none', 'one'], { description: 'Default none.' })),
        },
        closed,
      ),
    ),
    steps: Type.Record(Type.String({ pattern: STEP_ID_PATTERN }), StepSchema, {
      ...closed,
      minProperties: 1,
      description: 'Steps by id; an id is lowercase letters, digits and _, starting with a letter or _.',
    }),
    output: opt(Any),
  },
  { ...closed, title: 'Agentry workflow' },
);

export const AgentSchema = Type.Object(
  {
    version: Version,
    name: Name,
    description: Description,
    model: Type.String({ description: 'Model group from gateway.yaml.' }),
    system: opt(Type.String()),
    prompt: opt(Type.String()),
    tools: opt(Type.Array(Type.String(), { description: 'Tool server names (tools/*.yaml).' })),
    max_turns: opt(Type.Integer({ minimum: 1 })),
    output: opt(OutputSpec),
    confidence_threshold: opt(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { ...closed, title: 'Agentry agent' },
);

export const ToolSchema = Type.Object(
  {
    version: Version,
    name: Name,
    description: Description,
    command: opt(Type.String({ description: 'MCP stdio server command (exactly one of command and url).' })),
    args: opt(Type.Array(Type.String())),
    env: opt(StringMap),
    url: opt(Type.String({ description: 'MCP streamable HTTP endpoint (exactly one of command and url).' })),
    headers: opt(StringMap),
    allow: opt(Type.Array(Type.String(), { description: 'Tool names the server may expose; all when absent.' })),
    require_approval: opt(Type.Union([Type.Boolean(), Type.Array(Type.String())])),
    timeout: opt(Duration),
  },
  { ...closed, title: 'Agentry tool server' },
);

const Provider = Type.Object(
  {
    type: Type.Enum(['openai', 'anthropic', 'openai-compatible', 'mock']),
    base_url: opt(Type.String()),
    api_key: opt(Type.String()),
    timeout: opt(Duration),
    script: opt(Any),
  },
  closed,
);
const ModelTarget = Type.Object(
  {
    provider: Type.String(),
    model: Type.String(),
    input_per_mtok: opt(Type.Number({ minimum: 0, description: 'USD per million input tokens.' })),
    output_per_mtok: opt(Type.Number({ minimum: 0, description: 'USD per million output tokens.' })),
  },
  closed,
);

export const GatewaySchema = Type.Object(
  {
    version: Version,
    providers: Type.Record(Type.String({ pattern: NAME_PATTERN }), Provider, closed),
    models: Type.Record(
      Type.String({ pattern: NAME_PATTERN }),
      Type.Object({ targets: Type.Array(ModelTarget, { minItems: 1 }) }, closed),
      closed,
    ),
    budgets: opt(
      Type.Object(
        {
          workflow_daily_usd: opt(Type.Number({ minimum: 0 })),
          tenant_daily_usd: opt(Type.Number({ minimum: 0 })),
          project_daily_usd: opt(Type.Number({ minimum: 0 })),
        },
        closed,
      ),
    ),
  },
  { ...closed, title: 'Agentry gateway' },
);

const EngineSettings = Type.Object(
  {
    concurrency: opt(Type.Integer({ minimum: 1, description: 'Steps one worker runs at once. Default 10.' })),
    lease_ttl: opt(duration('Lease on claimed work. Default 30s.')),
    poll_interval: opt(duration('Idle poll period. Default 1s.')),
  },
  closed,
);
const HttpSettings = Type.Object(
  {
    allow_link_local: opt(Type.Boolean({ description: 'Allow link-local/metadata addresses. Default false.' })),
    default_timeout: opt(duration('Default 30s.')),
    max_response_bytes: opt(Type.Integer({ minimum: 1, description: 'Default 10485760 (10 MiB).' })),
  },
  closed,
);
const ProfileSettings = Type.Object({ engine: opt(EngineSettings), http: opt(HttpSettings), env: opt(EnvMap) }, closed);

export const ProjectSchema = Type.Object(
  {
    version: Version,
    name: opt(Type.String()),
    description: Description,
    engine: opt(EngineSettings),
    http: opt(HttpSettings),
    env: opt(EnvMap),
    profiles: opt(Type.Record(Type.String({ pattern: NAME_PATTERN }), ProfileSettings, closed)),
  },
  { ...closed, title: 'Agentry project settings (agentry.yaml)' },
);

export type DurationValue = Static<typeof DurationSchema>;
export type EnvVarSpec = Static<typeof EnvVarSchema>;
export type RetrySpec = Static<typeof RetrySchema>;
export type StepSpec = Static<typeof StepSchema>;
export type WorkflowSpec = Static<typeof WorkflowSchema>;
export type AgentSpec = Static<typeof AgentSchema>;
export type ToolSpec = Static<typeof ToolSchema>;
export type GatewaySpec = Static<typeof GatewaySchema>;
export type ProjectSpec = Static<typeof ProjectSchema>;
export type ProfileSpec = Static<typeof ProfileSettings>;

export const SPEC_SCHEMAS = {
  project: ProjectSchema,
  workflow: WorkflowSchema,
  agent: AgentSchema,
  tool: ToolSchema,
  gateway: GatewaySchema,
} as const satisfies Record<string, TSchema>;
export type SpecKind = keyof typeof SPEC_SCHEMAS;
export const SPEC_KINDS = Object.keys(SPEC_SCHEMAS) as SpecKind[];

/** The text of `docs/schemas/<kind>.schema.json` (pretty, stable, newline-terminated). */
export function schemaFileText(kind: SpecKind): string {
  const published = { $schema: 'http://json-schema.org/draft-07/schema#', ...SPEC_SCHEMAS[kind] };
  return `${JSON.stringify(published, null, 2)}\n`;
}
