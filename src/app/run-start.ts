/**
 * What a run start carries besides its input, checked before anything is stored: the workflow
 * (a project's by name, or an inline spec: an ad-hoc run), its labels (`metadata`), the
 * overrides of overridable settings and the run's own deadline. Each is size-limited
 * (`RunStartLimits`, set by `AGENTRY_MAX_*_BYTES`); a start over a limit is refused with
 * `payload_too_large` naming the limit, and nothing is stored.
 */
import type { StartRunOptions } from '../engine/run-transitions-types.js';
import type { Engine } from '../engine/engine.js';
import { parseDurationText } from '../lib/duration.js';
import { AgentryError } from '../lib/errors.js';
import { applyOverrides, compileInlineWorkflow } from '../spec/index.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { RunOverrides } from '../types.js';

export interface RunStartLimits {
  /** Bytes of an inline spec (YAML text, or an object as JSON). */
  inlineSpecBytes: number;
  /** Bytes of `overrides` as JSON. */
  overridesBytes: number;
  /** Bytes of `metadata` as JSON. */
  metadataBytes: number;
}

export const DEFAULT_RUN_START_LIMITS: RunStartLimits = { inlineSpecBytes: 256 * 1024, overridesBytes: 16 * 1024, metadataBytes: 8 * 1024 };

/** A label key: a letter or digit, then letters, digits and `._/-`, at most 63 characters. */
export const LABEL_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$';
export const LABEL_VALUE_MAX_LENGTH = 256;
export const MAX_LABELS = 64;

const LABEL_KEY = new RegExp(LABEL_KEY_PATTERN);

/** What to run: a workflow of the project, or a spec given inline (YAML text or an object). */
export type RunTarget = { workflow: string } | { spec: string | Record<string, unknown> };

export interface RunStartRequest {
  target: RunTarget;
  metadata?: Record<string, string> | undefined;
  overrides?: RunOverrides | undefined;
  /** A duration (`30m`) from the start, or an ISO 8601 time. */
  deadline?: string | undefined;
}

/** The workflow to start (overrides applied) and what the engine records with the run. */
export interface PlannedRun {
  wf: CompiledWorkflow;
  options: Pick<StartRunOptions, 'metadata' | 'overrides' | 'adhoc' | 'deadline'>;
}

function tooLarge(what: string, bytes: number, max: number, limit: string, env: string): AgentryError {
  return new AgentryError('payload_too_large', `${what} is ${bytes} bytes, over the limit of ${max} bytes (${limit}, set by ${env})`, {
    details: { limit, max, bytes },
  });
}

/** Checks a start's options and compiles what it runs; throws before anything is stored. */
export function planRun(engine: Engine, limits: RunStartLimits, request: RunStartRequest): PlannedRun {
  const { metadata, overrides, deadline } = request;
  if (metadata !== undefined) checkMetadata(metadata, limits);
  if (overrides !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(overrides));
    if (bytes > limits.overridesBytes) throw tooLarge('overrides', bytes, limits.overridesBytes, 'max_overrides_bytes', 'AGENTRY_MAX_OVERRIDES_BYTES');
  }
  const adhoc = 'spec' in request.target;
  const base = 'spec' in request.target ? compileInline(engine, limits, request.target.spec) : engine.workflow(request.target.workflow);
  const hasOverrides = overrides !== undefined && Object.keys(overrides.steps).length > 0;
  const wf = hasOverrides ? engine.transitions.compile(applyOverrides(base, overrides), base.file) : base;
  return {
    wf,
    options: {
      ...(adhoc ? { adhoc: true } : {}),
      ...(metadata !== undefined && Object.keys(metadata).length > 0 ? { metadata } : {}),
      ...(hasOverrides ? { overrides } : {}),
      ...(deadline === undefined ? {} : { deadline: parseDeadline(deadline) }),
    },
  };
}

function compileInline(engine: Engine, limits: RunStartLimits, spec: string | Record<string, unknown>): CompiledWorkflow {
  const bytes = Buffer.byteLength(typeof spec === 'string' ? spec : JSON.stringify(spec));
  if (bytes > limits.inlineSpecBytes) {
    throw tooLarge('the inline spec', bytes, limits.inlineSpecBytes, 'max_inline_spec_bytes', 'AGENTRY_MAX_INLINE_SPEC_BYTES');
  }
  return compileInlineWorkflow(spec, engine.transitions.availableKinds);
}

function checkMetadata(metadata: Record<string, string>, limits: RunStartLimits): void {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_LABELS) throw new AgentryError('invalid_request', `metadata has ${entries.length} labels; a run may have at most ${MAX_LABELS}`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) {
      throw new AgentryError('invalid_request', `metadata label '${key}': a key is a letter or digit, then letters, digits and ._/- (at most 63 characters)`);
    }
    if (typeof value !== 'string' || value.length > LABEL_VALUE_MAX_LENGTH) {
      throw new AgentryError('invalid_request', `metadata label '${key}': the value must be a string of at most ${LABEL_VALUE_MAX_LENGTH} characters`);
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > limits.metadataBytes) throw tooLarge('metadata', bytes, limits.metadataBytes, 'max_metadata_bytes', 'AGENTRY_MAX_METADATA_BYTES');
}

/** `30m` → in 30 minutes; an ISO 8601 time → then (it must be in the future). */
export function parseDeadline(text: string): { inMs: number } | { at: number } {
  const ms = parseDurationText(text);
  if (ms !== undefined) {
    if (ms <= 0) throw new AgentryError('invalid_request', `deadline '${text}' must be longer than 0`);
    return { inMs: ms };
  }
  const at = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) throw new AgentryError('invalid_request', `deadline '${text}' is neither a duration (30m, 2h) nor an ISO 8601 time`);
  if (at <= Date.now()) throw new AgentryError('invalid_request', `deadline '${text}' is in the past`);
  return { at };
}

/** `k:v` → `[k, v]` (split at the first colon), as `?label=` and `--label` give them. */
export function parseLabelFilter(text: string): [string, string] {
  const at = text.indexOf(':');
  const key = at < 0 ? '' : text.slice(0, at);
  if (!LABEL_KEY.test(key)) throw new AgentryError('invalid_request', `label filter '${text}' is not key:value (a key is letters, digits and ._/-)`);
  return [key, text.slice(at + 1)];
}
