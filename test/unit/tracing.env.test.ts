/**
 * Whether a process traces, from the standard `OTEL_*` variables alone: off unless an exporter
 * is configured, and a warning (never an error) when tracing is asked for but cannot export.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/obs/logger.js';
import { isTracingOn, startTracing } from '../../src/obs/tracing.js';
import { tracingPlan } from '../../src/obs/tracing-env.js';

describe('tracingPlan', () => {
  it('is off, silently, without any OTEL_* variable', () => {
    expect(tracingPlan({})).toEqual({ on: false, warnings: [] });
  });

  it('is on with an OTLP endpoint, over http/protobuf unless another protocol is named', () => {
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      on: true,
      destination: 'otlp http/protobuf http://collector:4318/v1/traces',
      warnings: [],
    });
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).destination).toBe(
      'otlp grpc http://collector:4317/',
    );
    // The traces endpoint is used as given; credentials in it are not shown.
    expect(
      tracingPlan({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://u:p@otel.example.com/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).destination,
    ).toBe('otlp http/json https://otel.example.com/custom');
  });

  it('is on with OTEL_TRACES_EXPORTER naming an exporter (the OTLP default endpoint then)', () => {
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ on: true, destination: 'console' });
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({ on: true, destination: 'otlp http/protobuf http://localhost:4318/v1/traces' });
  });

  it('is off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, whatever else is set', () => {
    expect(tracingPlan({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ on: false, warnings: [] });
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ on: false, warnings: [] });
  });

  it('warns when tracing is asked for but no exporter is configured or usable', () => {
    expect(tracingPlan({ OTEL_SERVICE_NAME: 'agentry-prod' })).toEqual({
      on: false,
      warnings: ['OTEL_SERVICE_NAME is set but no trace exporter is configured (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER): tracing is off'],
    });
    const unknown = tracingPlan({ OTEL_TRACES_EXPORTER: 'jaeger' });
    expect(unknown.on).toBe(false);
    expect(unknown.warnings).toEqual([
      'OTEL_TRACES_EXPORTER: unsupported jaeger (supported: otlp, console, zipkin, none)',
      'tracing is enabled but no trace exporter is usable: tracing is off',
    ]);
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toMatchObject({
      on: false,
      warnings: [expect.stringContaining("unsupported 'thrift'"), expect.stringContaining('no trace exporter is usable')],
    });
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).on).toBe(false);
  });

  it('warns of an unknown sampler and stays on (the SDK uses its default)', () => {
    const plan = tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_SAMPLER: 'sometimes' });
    expect(plan.on).toBe(true);
    expect(plan.warnings).toEqual([expect.stringContaining("OTEL_TRACES_SAMPLER: unsupported 'sometimes'")]);
  });
});

describe('startTracing', () => {
  it('logs the warning at startup and leaves tracing off (the SDK is not loaded)', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const on = await startTracing({ role: 'worker', logger: createLogger({ level: 'info', destination }), env: { OTEL_TRACES_EXPORTER: 'jaeger' } });
    expect(on).toBe(false);
    expect(isTracingOn()).toBe(false);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(logged).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'tracing is enabled but no trace exporter is usable: tracing is off' }));
  });
});
