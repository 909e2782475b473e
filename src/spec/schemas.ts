/**
 * JSON Schemas of every spec kind (typebox), with the static types derived from them.
 * Every object is closed (`additionalProperties: false`) so an unknown or misspelt field is
 * an error. `errorMessage` (the ajv-errors keyword, string form) gives a readable message for
 * `pattern`, `const` and union failures; `scripts/write-schemas.ts` publishes these schemas
 * to `docs/schemas/<kind>.schema.json`.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DURATION_PATTERN } from '../lib/duration.js';
import { SYSTEM_TENANT, TENANT_ID_PATTERN } from '../lib/tenant.js';
import { GuardrailsSchema } from './guardrails.js';
import { LimitsSchema } from './limits.js';

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
/** A JSON Schema (draft-07) as a spec holds it. */
export type JsonSchema = Record<string, unknown>;

const JsonSchemaObject = Type.Unsafe<JsonSchema>({ type: 'object', description: 'A JSON Schema (draft-07).' });

function duration(description = 'A duration such as 500ms, 2s, 1h30m or 1d, or a whole number of milliseconds.') {
  return Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    errorMessage: 'must be a duration such as 500ms, 2s or 1h30m, or a whole number of milliseconds',
  });
}
export const DurationSchema = duration();

/** A tenant id (`lib/tenant.ts`): 1–64 letters, digits or `_.@-`, and not the reserved `system`. */
function TenantId(description: string) {
  return Type.String({
    pattern: TENANT_ID_PATTERN,
    not: { const: SYSTEM_TENANT },
    description,
    errorMessage: `must be a tenant id (1–64 letters, digits or _.@-), not '${SYSTEM_TENANT}'`,
  });
}
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
    jitter: opt(Type.Boolean({ description: 'Draw each delay uniformly from [d/2, d] instead of waiting exactly d. Default true.' })),
  },
  closed,
);

const OutputSpec = Type.Object(
  {
    schema: JsonSchemaObject,
    repair_attempts: opt(Type.Integer({ minimum: 0, description: 'Agents: extra turns the model gets to fix an answer that fails the schema. Default 2.' })),
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
    save_body_as: opt(
      Type.String({
        minLength: 1,
        description:
          "Store the response body as this run artifact (a path the workflow's `artifacts:` declares; templates allowed) instead of in the step output, which then holds the artifact's name, size and sha256. The body may be as large as `max_response_bytes` or, without it, the per-file artifact limit.",
      }),
    ),
  },
  closed,
);

const SleepStep = Type.Union([Duration, Type.Object({ duration: Duration }, closed), Type.Object({ until: Type.String() }, closed)], {
  errorMessage: 'must be a duration, { duration: <duration> } or { until: <timestamp> }',
});

const ToolStep = Type.Object({ server: Type.String(), name: Type.String(), args: opt(Any) }, closed);

const PluginStep = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, description: 'The plugin (`agentry plugins list`).' }),
    step: Type.String({ pattern: NAME_PATTERN, description: 'One of the step kinds its manifest adds (`adds.steps[].kind`).' }),
    config: opt(Type.Unknown({ description: "What the step kind gets, checked against its manifest's `config` schema; templates allowed." })),
  },
  closed,
);

const HumanStep = Type.Object(
  {
    title: Type.String({ description: 'What the task asks; templates allowed.' }),
    instructions: opt(Type.String({ description: 'Longer guidance shown with the task; templates allowed.' })),
    role: opt(Type.String({ description: 'Role whose keys may decide (admin and operator always may).' })),
    assignees: opt(Type.Array(Type.String(), { description: 'Names of the API keys that may decide.' })),
    form: opt(Type.Object({ schema: JsonSchemaObject }, { ...closed, description: 'JSON Schema the data of a `submit` decision must match.' })),
    timeout: opt(duration('How long the task waits for a decision. Default: no limit.')),
    on_timeout: opt(
      Type.Enum(['fail', 'continue', 'escalate'], {
        description:
          'fail: the step ends `expired` and the run fails. continue: the step succeeds with `default`. escalate: the task goes to `escalate_to` with a new deadline. Default fail.',
      }),
    ),
    default: opt(Any),
    escalate_to: opt(Type.String({ description: 'Role the task is reassigned to on timeout (with on_timeout: escalate).' })),
    escalation_timeout: opt(duration('Deadline after escalating; past it the task is `expired`. Default: timeout.')),
    on_reject: opt(
      Type.Enum(['fail', 'continue'], {
        description: 'fail: a reject fails the step (`task_rejected`). continue: the step succeeds with decision `reject`. Default fail.',
      }),
    ),
  },
  closed,
);

const WaitStep = Type.Object(
  {
    signal: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Signal name: POST /v1/runs/{id}/signals/{name} resumes the step.' }),
    timeout: opt(duration('How long to wait. Default: no limit.')),
    on_timeout: opt(
      Type.Enum(['fail', 'continue'], { description: 'fail: the step fails `signal_timeout`. continue: it succeeds with `default`. Default fail.' }),
    ),
    default: opt(Any),
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

/**
 * The step kinds, in the order a step's kind is looked for. Each has its block on `StepSchema`
 * below (the compiled model's `StepConfigs` fails to type-check when one is missing).
 */
export const STEP_KINDS = ['transform', 'http', 'sleep', 'agent', 'tool', 'human', 'wait', 'workflow', 'plugin'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Settings of a step a run may override at start, where the step lists them under `overridable:` (docs/specs.md#overrides). */
export const OVERRIDABLE_SETTINGS = ['timeout', 'retry', 'model'] as const;
export type OverridableSetting = (typeof OVERRIDABLE_SETTINGS)[number];

export const StepSchema = Type.Object(
  {
    description: Description,
    needs: opt(Type.Array(Type.String(), { description: 'Steps that must finish first.' })),
    when: opt(Type.String({ description: 'CEL condition (no braces); the step is skipped when false.' })),
    retry: opt(RetrySchema),
    timeout: opt(Duration),
    output: opt(OutputSpec),
    input: opt(
      Type.Unknown({
        description:
          'Agent steps: the input the agent gets. Workflow steps: the child run input. Human steps: what the task shows the reviewer (its context). Templates allowed.',
      }),
    ),
    for_each: opt(ForEach),
    transform: opt(Any),
    http: opt(HttpStep),
    sleep: opt(SleepStep),
    agent: opt(Type.String({ description: 'Agent name (agents/*.yaml).' })),
    model: opt(Type.String({ minLength: 1, description: "Agent steps: the model group (gateway.yaml) to call instead of the agent's `model:`." })),
    write_artifacts: opt(
      Type.Boolean({
        description:
          "Agent steps: offer the agent the built-in tool `artifacts__write`, which stores a file among the run's artifacts (names the workflow's `artifacts:` declares).",
      }),
    ),
    overridable: opt(
      Type.Array(Type.Enum([...OVERRIDABLE_SETTINGS]), {
        uniqueItems: true,
        description: 'Settings of this step a run may override when it is started (`overrides:` of POST /v1/runs): timeout, retry, and model (agent steps).',
      }),
    ),
    tool: opt(ToolStep),
    human: opt(HumanStep),
    wait: opt(WaitStep),
    workflow: opt(Type.String({ description: 'Sub-workflow name: the step starts a child run with `input:` and takes its output.' })),
    plugin: opt(PluginStep),
  },
  closed,
);

/** `egress:` of `agentry.yaml` and of a workflow (which narrows the project's). */
const EgressSettings = Type.Object(
  {
    allow: opt(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'CIDRs (10.0.0.0/8), IP addresses or host patterns (*.example.com) that may be reached; when non-empty, nothing else may.',
      }),
    ),
    deny: opt(Type.Array(Type.String({ minLength: 1 }), { description: 'CIDRs, IP addresses or host patterns that may never be reached (deny wins).' })),
  },
  { ...closed, description: 'Where http steps and HTTP tool servers may connect (docs/security.md#egress-policy).' },
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
    budget: opt(Type.Object({ max_tokens: opt(Type.Integer({ minimum: 0 })), max_cost_usd: opt(Type.Number({ minimum: 0 })) }, closed)),
    concurrency: opt(Type.Object({ key: Type.String(), limit: Type.Integer({ minimum: 1 }) }, closed)),
    egress: opt(EgressSettings),
    artifacts: opt(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Files the steps of a run may write to its artifacts (docs/artifacts.md): relative paths (`out/report.md`) or patterns (`reports/*.md`, `data/**`). A write of any other name fails its step (`artifact_denied`).',
      }),
    ),
    retention: opt(
      Type.Object(
        {
          succeeded: opt(duration('How long succeeded runs of this workflow are kept after they end. Default: AGENTRY_RETENTION_SUCCEEDED.')),
          failed: opt(duration('How long failed and timed-out runs are kept after they end. Default: AGENTRY_RETENTION_FAILED.')),
          cancelled: opt(duration('How long cancelled runs are kept after they end. Default: AGENTRY_RETENTION_CANCELLED.')),
          events: opt(duration("How long the events of this workflow's ended runs are kept. Default: AGENTRY_RETENTION_EVENTS.")),
        },
        { ...closed, description: 'How long ended runs are kept (docs/operations/retention.md); overrides the deployment settings.' },
      ),
    ),
    schedule: opt(
      Type.Object(
        {
          cron: Type.String(),
          timezone: opt(Type.String()),
          input: opt(Any),
          overlap: opt(Type.Enum(['skip', 'allow'], { description: 'Default skip.' })),
          catch_up: opt(Type.Enum(['none', 'one'], { description: 'Default none.' })),
          tenant: opt(TenantId('The tenant the runs of this schedule belong to. Default: the deployment tenant (`AGENTRY_TENANT`).')),
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
    tools: opt(
      Type.Array(Type.String(), { description: 'Tools the agent may call: `server` or `server.*` (every tool of a server in tools/*.yaml) or `server.tool`.' }),
    ),
    max_turns: opt(Type.Integer({ minimum: 1 })),
    output: opt(OutputSpec),
    confidence_threshold: opt(Type.Number({ minimum: 0, maximum: 1 })),
    guardrails: opt(GuardrailsSchema),
    memory: opt(
      Type.Object(
        {
          thread: Type.String({
            minLength: 1,
            description: 'Which conversation a run continues: a template rendered with the step context, e.g. `{{ input.customer }}`. Per tenant.',
          }),
          max_messages: opt(
            Type.Integer({ minimum: 1, maximum: 1000, description: 'How many of the newest messages the thread keeps and the agent sees. Default 50.' }),
          ),
        },
        { ...closed, description: "Conversation memory: the thread's earlier user and assistant messages come before this run's prompt." },
      ),
    ),
  },
  { ...closed, title: 'Agentry agent' },
);

/** Tool server names also name model functions (`<server>__<tool>`), so they may not contain `__`. */
export const TOOL_SERVER_NAME_PATTERN = '^(?!.*__)[a-z][a-z0-9_-]*$';

export const ToolRestartSchema = Type.Object(
  {
    max_restarts: opt(
      Type.Integer({ minimum: 0, description: 'Reconnects after a lost connection (crashed stdio process) allowed within `window`. Default 5.' }),
    ),
    window: opt(duration('Period the restart budget counts over. Default 10m.')),
    backoff: opt(
      Type.Object(
        {
          initial: opt(duration('Wait before the first reconnect; doubles with each restart in the window. Default 500ms.')),
          max: opt(duration('Longest wait. Default 30s.')),
        },
        closed,
      ),
    ),
  },
  closed,
);

export const ToolSchema = Type.Object(
  {
    version: Version,
    name: Type.String({
      pattern: TOOL_SERVER_NAME_PATTERN,
      errorMessage: 'must be lowercase letters, digits, - and _, starting with a letter, without __',
    }),
    description: Description,
    command: opt(Type.String({ minLength: 1, description: 'MCP stdio server command (exactly one of command and url).' })),
    args: opt(Type.Array(Type.String(), { description: 'Arguments of `command`.' })),
    cwd: opt(Type.String({ description: 'Working directory of `command`, relative to the project directory. Default the project directory.' })),
    env: opt(
      Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), Type.String(), {
        ...closed,
        description:
          'Environment of `command`: the process starts with a clean environment (PATH, HOME, USER, LOGNAME, SHELL, TERM) plus these. ' +
          'Values may use {{ env.NAME }} to read a variable of the Agentry process; a missing one fails the server with an error naming it.',
      }),
    ),
    url: opt(
      Type.String({
        pattern: '^https?://',
        errorMessage: 'must be an http:// or https:// URL',
        description: 'MCP streamable HTTP endpoint (exactly one of command and url).',
      }),
    ),
    headers: opt(
      Type.Record(Type.String(), Type.String(), {
        ...closed,
        description: 'HTTP headers sent to `url`; values may use {{ env.NAME }} (e.g. Authorization: "Bearer {{ env.CRM_TOKEN }}").',
      }),
    ),
    allow: opt(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Names of the tools the server may expose; the others do not exist for Agentry. All when absent.',
      }),
    ),
    require_approval: opt(
      Type.Union([Type.Boolean(), Type.Array(Type.String({ minLength: 1 }))], {
        description: 'true: every tool of the server needs human approval before a call; a list: those tools. Default false.',
        errorMessage: 'must be true, false or a list of tool names',
      }),
    ),
    approval_role: opt(
      Type.String({
        minLength: 1,
        description: 'Role whose keys may decide approvals of this server (admin and operator always may). Default: anyone with tasks:write.',
      }),
    ),
    on_reject: opt(
      Type.Enum(['fail', 'recover'], {
        description:
          'When a reviewer rejects a call that needs approval. fail: the agent step fails (`tool_rejected`). recover: the agent is told the call was refused and goes on. Default fail.',
      }),
    ),
    timeout: opt(duration('Per-call timeout. Default 60s.')),
    connect_timeout: opt(duration('Time to start (stdio) or reach (HTTP) the server and complete the MCP handshake. Default 30s.')),
    restart: opt(ToolRestartSchema),
  },
  { ...closed, title: 'Agentry tool server' },
);

// ---- gateway.yaml (see docs/gateway.md) ----

export const ENV_REFERENCE_PATTERN = '^\\{\\{\\s*env\\.[A-Z_][A-Z0-9_]*\\s*\\}\\}$';

const GatewayRetry = Type.Object(
  {
    max_attempts: opt(Type.Integer({ minimum: 1, maximum: 20, description: 'Attempts per target, including the first. Default 3.' })),
    initial: opt(duration('First backoff delay. Default 500ms.')),
    max: opt(duration('Longest backoff delay; a Retry-After longer than this moves on to the next target. Default 30s.')),
    jitter: opt(Type.Boolean({ description: 'Jitter each delay in [delay/2, delay]. Default true.' })),
  },
  closed,
);

const MockToolCall = Type.Object(
  {
    name: Type.String({ description: 'Tool (function) name.' }),
    arguments: opt(Type.Unknown({ description: 'Arguments: an object (sent as JSON) or a JSON string. Default {}.' })),
    id: opt(Type.String({ description: 'Tool call id. Default call_<turn>_<index>.' })),
  },
  closed,
);

const MockRule = Type.Object(
  {
    when: opt(
      Type.Object(
        {
          last_user_contains: opt(Type.String({ description: 'The last user message contains this text.' })),
          has_tool_results: opt(Type.Boolean({ description: 'The conversation holds (true) or holds no (false) tool results.' })),
          turn: opt(Type.Integer({ minimum: 1, description: 'Assistant turn number: 1 + the assistant messages so far.' })),
          model: opt(Type.String({ description: 'The target model name.' })),
        },
        { ...closed, description: 'Every condition given must hold; an absent `when` always matches.' },
      ),
    ),
    reply: opt(
      Type.Object(
        {
          content: opt(Type.Unknown({ description: 'Reply text; any other JSON value is sent as its JSON text.' })),
          tool_calls: opt(Type.Array(MockToolCall)),
        },
        closed,
      ),
    ),
    usage: opt(
      Type.Object(
        { prompt_tokens: opt(Type.Integer({ minimum: 0 })), completion_tokens: opt(Type.Integer({ minimum: 0 })) },
        { ...closed, description: 'Reported usage. Default: characters / 4 of the request and of the reply.' },
      ),
    ),
    delay: opt(duration('Wait this long before answering (cancellable).')),
    error: opt(
      Type.Object(
        {
          status: Type.Integer({ minimum: 400, maximum: 599 }),
          message: opt(Type.String()),
          retry_after: opt(duration('Sent as Retry-After.')),
        },
        { ...closed, description: 'Fail like a provider answering with this HTTP status.' },
      ),
    ),
  },
  closed,
);

const UpstreamLimits = Type.Object(
  {
    requests_per_minute: opt(Type.Integer({ minimum: 1, description: 'Requests this process sends per minute, spread evenly (120 = one every 500 ms).' })),
    tokens_per_minute: opt(
      Type.Integer({
        minimum: 1,
        description: "Tokens (prompt estimate + the request's output cap, then what the provider reported) per minute; a minute's worth may go at once.",
      }),
    ),
    burst: opt(Type.Integer({ minimum: 1, description: 'Requests that may go at once before the spreading starts. Default 1.' })),
  },
  {
    ...closed,
    description:
      'Upstream throttling in this process: a call over the limit waits (within its deadline) instead of failing; 429 upstream_throttled when it cannot go in time.',
  },
);

const Provider = Type.Object(
  {
    type: Type.Enum(['openai', 'anthropic', 'openai-compatible', 'mock']),
    base_url: opt(Type.String({ description: 'API base URL; required for openai-compatible. May use {{ env.NAME }}.' })),
    api_key: opt(
      Type.String({
        pattern: ENV_REFERENCE_PATTERN,
        description: 'A reference {{ env.NAME }}; literal keys are refused. Default env OPENAI_API_KEY (openai) or ANTHROPIC_API_KEY (anthropic).',
        errorMessage: 'must be a reference such as "{{ env.OPENAI_API_KEY }}" (keys are never written in spec files)',
      }),
    ),
    timeout: opt(duration('Per-call timeout for this provider. Default: defaults.timeout.')),
    script: opt(Type.Array(MockRule, { description: 'mock only: rules tried in order; the first that matches answers.' })),
    limits: opt(UpstreamLimits),
  },
  closed,
);
const ModelTarget = Type.Object(
  {
    provider: Type.String(),
    model: Type.String(),
    input_per_mtok: opt(Type.Number({ minimum: 0, description: 'USD per million input tokens. Default 0.' })),
    output_per_mtok: opt(Type.Number({ minimum: 0, description: 'USD per million output tokens (reasoning tokens included). Default 0.' })),
    cached_input_per_mtok: opt(
      Type.Number({ minimum: 0, description: 'USD per million input tokens the provider served from its prompt cache. Default: input_per_mtok.' }),
    ),
    max_tokens: opt(Type.Integer({ minimum: 1, description: 'Output cap sent when a request sets none. Default: the group max_tokens, else none is sent.' })),
    max_output_tokens: opt(
      Type.Integer({
        minimum: 1,
        description: 'Output assumed by budget checks when a request sets no cap (sent as the cap when a budget applies). Default: defaults.max_output_tokens.',
      }),
    ),
    limits: opt(UpstreamLimits),
  },
  closed,
);
const ModelGroup = Type.Object(
  {
    description: Description,
    targets: Type.Array(ModelTarget, { minItems: 1, description: 'Tried in order: the next one serves when the previous fails.' }),
    retry: opt(GatewayRetry),
    timeout: opt(duration('Per-call timeout for this group. Default: the provider timeout, then defaults.timeout.')),
    max_tokens: opt(Type.Integer({ minimum: 1, description: "Output cap sent when a request sets none (a target's max_tokens wins). Default: none." })),
    cache: opt(
      Type.Object(
        {
          ttl: duration('How long an answer is served again to the same request of the same tenant (e.g. 10m).'),
          tools_safe: opt(
            Type.Boolean({ description: 'Cache requests that offer tools too (their tools have no side effects a cached answer would skip). Default false.' }),
          ),
        },
        {
          ...closed,
          description: 'Exact-match response cache of non-streaming chat completions, per tenant (docs/gateway.md#response-cache). Default: no cache.',
        },
      ),
    ),
    drop_params: opt(
      Type.Boolean({
        description:
          'Drop request parameters a target cannot honour (n, logprobs, seed … on anthropic) and name them in x-agentry-dropped-params, instead of refusing the request with unsupported_parameter. Default false.',
      }),
    ),
  },
  closed,
);
const BudgetLimits = Type.Object(
  {
    daily_usd: opt(Type.Number({ minimum: 0, description: 'USD per UTC day.' })),
    daily_tokens: opt(Type.Integer({ minimum: 0, description: 'Tokens (input + output) per UTC day.' })),
    monthly_usd: opt(Type.Number({ minimum: 0, description: 'USD per UTC calendar month.' })),
    monthly_tokens: opt(Type.Integer({ minimum: 0, description: 'Tokens (input + output) per UTC calendar month.' })),
  },
  closed,
);
const GatewayBudgets = Type.Object(
  {
    workflow_daily_usd: opt(Type.Number({ minimum: 0, description: 'Default limit for every workflow, per UTC day.' })),
    workflow_daily_tokens: opt(Type.Integer({ minimum: 0 })),
    workflow_monthly_usd: opt(Type.Number({ minimum: 0, description: 'Default limit for every workflow, per UTC calendar month.' })),
    workflow_monthly_tokens: opt(Type.Integer({ minimum: 0 })),
    tenant_daily_usd: opt(Type.Number({ minimum: 0, description: 'Default limit for every tenant, per UTC day.' })),
    tenant_daily_tokens: opt(Type.Integer({ minimum: 0 })),
    tenant_monthly_usd: opt(Type.Number({ minimum: 0, description: 'Default limit for every tenant, per UTC calendar month.' })),
    tenant_monthly_tokens: opt(Type.Integer({ minimum: 0 })),
    per_workflow: opt(
      Type.Record(Type.String(), BudgetLimits, { ...closed, description: 'Limits for named workflows (an entry replaces every workflow default).' }),
    ),
    per_tenant: opt(Type.Record(Type.String(), BudgetLimits, { ...closed, description: 'Limits for named tenants (an entry replaces every tenant default).' })),
  },
  closed,
);

export const GatewaySchema = Type.Object(
  {
    version: Version,
    env: opt(EnvMap),
    defaults: opt(
      Type.Object(
        {
          timeout: opt(duration('Per-call timeout. Default 60s.')),
          retry: opt(GatewayRetry),
          max_output_tokens: opt(
            Type.Integer({
              minimum: 1,
              description: 'Output assumed by budget checks when a request sets no cap (sent as the cap when a budget applies). Default 4096.',
            }),
          ),
        },
        closed,
      ),
    ),
    providers: Type.Record(Type.String({ pattern: NAME_PATTERN }), Provider, closed),
    models: Type.Record(Type.String({ pattern: NAME_PATTERN }), ModelGroup, closed),
    budgets: opt(GatewayBudgets),
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
const ProfileSettings = Type.Object(
  { engine: opt(EngineSettings), http: opt(HttpSettings), egress: opt(EgressSettings), env: opt(EnvMap), limits: opt(LimitsSchema) },
  closed,
);

const PolicyNames = (description: string) => opt(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 500, description }));

/** `environments.<name>.policy`: what a spec must satisfy to run in that environment (docs/environments.md). */
export const PolicySchema = Type.Object(
  {
    enforcement: opt(
      Type.Enum(['enforce', 'warn'], {
        description: 'enforce: a run that breaks a rule is refused (`policy_violation`); warn: it starts, and validate reports warnings. Default enforce.',
      }),
    ),
    allowed_model_groups: PolicyNames('Model groups (gateway.yaml) agents may use; absent: any.'),
    allowed_tools: PolicyNames('Tools that tool steps and agents may use: `server`, `server.*` or `server.tool`; absent: any.'),
    max_run_cost_usd: opt(
      Type.Number({ minimum: 0, description: "Every workflow must declare `budget.max_cost_usd` at most this (a run's LLM spend is capped by it)." }),
    ),
    max_run_tokens: opt(Type.Integer({ minimum: 0, description: 'Every workflow must declare `budget.max_tokens` at most this.' })),
    require_approval: opt(
      Type.Object(
        {
          tools: PolicyNames(
            'Tools (`server`, `server.*`, `server.tool`) whose every call needs approval: the tool server must list them in `require_approval`, and a tool step calling one must follow a human step.',
          ),
          step_kinds: opt(
            Type.Array(Type.Enum([...STEP_KINDS]), { description: 'Kinds of steps (http, tool, …) that must follow (need, directly or not) a human step.' }),
          ),
        },
        closed,
      ),
    ),
    egress_allow: PolicyNames(
      "Hosts (`api.example.com`, `*.example.com`) or IPs an http step's literal URL may name; absent: any (the runtime egress policy still applies).",
    ),
    allow_ad_hoc_runs: opt(Type.Boolean({ description: 'Whether runs of inline specs (not from the project) may start. Default true.' })),
  },
  { ...closed, description: 'Rules every spec must satisfy in this environment (docs/environments.md).' },
);

const EnvironmentSettings = Type.Object(
  {
    description: Description,
    engine: opt(EngineSettings),
    http: opt(HttpSettings),
    egress: opt(EgressSettings),
    env: opt(EnvMap),
    limits: opt(LimitsSchema),
    policy: opt(PolicySchema),
  },
  closed,
);

export const ProjectSchema = Type.Object(
  {
    version: Version,
    name: opt(Type.String()),
    tenant: opt(TenantId("The deployment's tenant (`AGENTRY_TENANT` overrides it). Default `default`.")),
    description: Description,
    engine: opt(EngineSettings),
    http: opt(HttpSettings),
    egress: opt(EgressSettings),
    env: opt(EnvMap),
    limits: opt(LimitsSchema),
    profiles: opt(Type.Record(Type.String({ pattern: NAME_PATTERN }), ProfileSettings, closed)),
    environments: opt(
      Type.Record(Type.String({ pattern: NAME_PATTERN }), EnvironmentSettings, {
        ...closed,
        description:
          'Named environments (dev, staging, production): each overlays settings and holds a policy. The active one: AGENTRY_ENVIRONMENT, else the one named like AGENTRY_ENV.',
      }),
    ),
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
export type MockRuleSpec = Static<typeof MockRule>;
export type GatewayRetrySpec = Static<typeof GatewayRetry>;
export type GatewayBudgetsSpec = Static<typeof GatewayBudgets>;
export type UpstreamLimitsSpec = Static<typeof UpstreamLimits>;
export type ProjectSpec = Static<typeof ProjectSchema>;
export type PolicySpec = Static<typeof PolicySchema>;

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
