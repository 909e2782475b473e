/**
 * The OpenTelemetry Node SDK, configured by the `OTEL_*` variables it reads itself (exporter,
 * endpoint, headers, protocol, sampler, batch processor, resource attributes, propagators), for
 * traces only: no auto-instrumentation, no metrics (Prometheus serves those), no logs (stderr
 * does). Loaded by `tracing.ts` only when tracing is on.
 */
import { randomUUID } from 'node:crypto';
import { diag, DiagLogLevel, context, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import { diagLogLevelFromString, getStringFromEnv } from '@opentelemetry/core';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { defaultResource, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { SpanIds } from './span-ids.js';

export interface SdkOptions {
  role: string;
  logger: Logger;
  version: string;
  exporter?: SpanExporter;
}

/** How often the same SDK complaint (an unreachable collector) is logged at most. */
const REPEAT_MS = 60_000;

/**
 * The SDK's own diagnostics (export failures, bad settings) as lines of the process log, the
 * same message at most once a minute: warnings and errors, or down to `OTEL_LOG_LEVEL`.
 */
function diagLogger(logger: Logger): DiagLogger {
  const log = logger.child({ component: 'tracing' });
  const last = new Map<string, number>();
  const at =
    (level: 'warn' | 'info' | 'debug') =>
    (message: string, ...args: unknown[]): void => {
      const now = Date.now();
      if ((last.get(message) ?? -Infinity) > now - REPEAT_MS) return;
      last.set(message, now);
      const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      log[level](`OpenTelemetry: ${message}${detail === '' ? '' : ` ${detail}`}`);
    };
  return { error: at('warn'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('debug') };
}

export function startSdk(options: SdkOptions): { ids: SpanIds; shutdown: () => Promise<void> } {
  const ids = new SpanIds();
  // Ours first; what the environment says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over it.
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': 'agentry',
      'service.version': options.version,
      'service.instance.id': randomUUID(),
      'process.pid': process.pid,
      'agentry.role': options.role,
    }),
  );
  const sdk = new NodeSDK({
    resource,
    // Not the process detector: it would copy the command line (which may hold a secret) into every span.
    ...(process.env.OTEL_NODE_RESOURCE_DETECTORS ? {} : { resourceDetectors: [envDetector, hostDetector] }),
    idGenerator: ids,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
    ...(options.exporter ? { spanProcessors: [new SimpleSpanProcessor(options.exporter)] } : {}),
  });
  sdk.start();
  const logLevel = diagLogLevelFromString(getStringFromEnv('OTEL_LOG_LEVEL')) ?? DiagLogLevel.WARN;
  diag.setLogger(diagLogger(options.logger), { logLevel, suppressOverrideMessage: true });
  return {
    ids,
    shutdown: async () => {
      try {
        await sdk.shutdown();
      } finally {
        // A later start in this process (tests) registers afresh.
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    },
  };
}
