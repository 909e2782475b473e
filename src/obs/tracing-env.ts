/**
 * Whether this process traces, decided from the standard `OTEL_*` variables alone (the SDK then
 * reads them itself): on when an exporter is configured — an OTLP endpoint, or
 * `OTEL_TRACES_EXPORTER` naming one — and `OTEL_SDK_DISABLED` is not `true`. What would leave
 * tracing asked for but unable to export is a warning, not an error: the process runs untraced.
 */

export const TRACE_EXPORTERS = ['otlp', 'console', 'zipkin'] as const;
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/** Variables that only make sense with tracing on: set without an exporter, they earn a warning. */
const TRACING_HINTS = [
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT',
];

export interface TracingPlan {
  on: boolean;
  /** Where spans go, for the startup line (`http/json http://collector:4318/v1/traces`, `console`). */
  destination?: string;
  /** Why tracing stays off although it was asked for, or what of the configuration is ignored. */
  warnings: string[];
}

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (value(env, name) ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'null');
}

/** What the SDK will do with `env`, checked up front so a broken setting is said once, at startup. */
export function tracingPlan(env: NodeJS.ProcessEnv): TracingPlan {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { on: false, warnings: [] };
  const warnings: string[] = [];
  const endpoint = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const named = list(env, 'OTEL_TRACES_EXPORTER');
  if (named.length === 1 && named[0] === 'none') return { on: false, warnings: [] };
  if (named.length === 0 && endpoint === undefined) {
    const hints = TRACING_HINTS.filter((name) => value(env, name) !== undefined);
    if (hints.length > 0) {
      warnings.push(
        `${hints.join(', ')} ${hints.length === 1 ? 'is' : 'are'} set but no trace exporter is configured (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER): tracing is off`,
      );
    }
    return { on: false, warnings };
  }
  const exporters = named.length === 0 ? ['otlp'] : named.filter((name) => name !== 'none');
  const unknown = exporters.filter((name) => !(TRACE_EXPORTERS as readonly string[]).includes(name));
  if (unknown.length > 0) warnings.push(`OTEL_TRACES_EXPORTER: unsupported ${unknown.join(', ')} (supported: ${TRACE_EXPORTERS.join(', ')}, none)`);
  const usable = exporters.filter((name) => (TRACE_EXPORTERS as readonly string[]).includes(name));
  const destinations: string[] = [];
  for (const name of usable) {
    if (name !== 'otlp') {
      destinations.push(name);
      continue;
    }
    const problem = otlpProblem(env, endpoint);
    if (problem === undefined) destinations.push(otlpDestination(env, endpoint));
    else warnings.push(problem);
  }
  // A broken exporter setting would make the SDK fall back to defaults nobody asked for: refuse to guess.
  if (destinations.length === 0 || destinations.length < usable.length) {
    return { on: false, warnings: [...warnings, 'tracing is enabled but no trace exporter is usable: tracing is off'] };
  }
  const sampler = value(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  if (sampler !== undefined && !SAMPLERS.includes(sampler)) {
    warnings.push(`OTEL_TRACES_SAMPLER: unsupported '${sampler}' (supported: ${SAMPLERS.join(', ')}); parentbased_always_on is used`);
  }
  return { on: true, destination: destinations.join(', '), warnings };
}

function protocolOf(env: NodeJS.ProcessEnv): string {
  return value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? value(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
}

function otlpProblem(env: NodeJS.ProcessEnv, endpoint: string | undefined): string | undefined {
  const protocol = protocolOf(env);
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    return `OTEL_EXPORTER_OTLP_PROTOCOL: unsupported '${protocol}' (supported: ${OTLP_PROTOCOLS.join(', ')})`;
  }
  if (endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `OTLP endpoint '${endpoint}' is not a URL (like http://collector:4318)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `OTLP endpoint '${endpoint}' must be an http:// or https:// URL`;
  return undefined;
}

/** The URL spans are sent to, with credentials left out (it is logged). */
function otlpDestination(env: NodeJS.ProcessEnv, endpoint: string | undefined): string {
  const protocol = protocolOf(env);
  const signal = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = endpoint ?? (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318');
  const url = new URL(base);
  url.username = '';
  url.password = '';
  url.search = '';
  // A signal-specific endpoint is used as given; the general one gets `/v1/traces` (HTTP) appended.
  const shown = signal !== undefined || protocol === 'grpc' ? url.href : `${url.href.replace(/\/+$/, '')}/v1/traces`;
  return `otlp ${protocol} ${shown}`;
}
