/**
 * What a step may write to its run's artifact store (docs/artifacts.md): names its workflow's
 * `artifacts:` patterns declare, each file within the per-file limit and the run's files within
 * the per-run limit. A refused write stores nothing and fails the step with `artifact_denied` or
 * `artifact_too_large`; the engine hands each attempt its writer (`StepContext.artifacts`).
 */
import { matchesArtifactPatterns, normalizeArtifactName } from '../lib/artifact-path.js';
import { AgentryError } from '../lib/errors.js';
import type { ArtifactRecord, ArtifactStore } from '../store/store.js';

/** The limits of `AGENTRY_MAX_ARTIFACT_BYTES` and `AGENTRY_MAX_ARTIFACT_BYTES_PER_RUN`. */
export interface ArtifactLimits {
  maxFileBytes: number;
  maxRunBytes: number;
}

export const ARTIFACT_LIMIT_DEFAULTS: ArtifactLimits = { maxFileBytes: 25 * 1024 * 1024, maxRunBytes: 100 * 1024 * 1024 };

/** A step attempt's way to its run's artifact store. */
export interface StepArtifacts {
  /** Largest file one write may store. */
  readonly maxFileBytes: number;
  /** Stores `content` as `name` (replacing the run's artifact of that name); refused when undeclared or too large. */
  write(name: string, content: Uint8Array | string, contentType: string): Promise<ArtifactRecord>;
}

export interface StepArtifactsOptions {
  store: ArtifactStore;
  runId: string;
  tenantId: string;
  stepId: string;
  workflow: string;
  /** The workflow's `artifacts:` (none: every write is refused). */
  patterns: readonly string[];
  limits: ArtifactLimits;
}

/** The writer of one step attempt. */
export function stepArtifacts(o: StepArtifactsOptions): StepArtifacts {
  return {
    maxFileBytes: o.limits.maxFileBytes,
    async write(name, content, contentType) {
      const normalised = normalizeArtifactName(name);
      if ('problem' in normalised) {
        throw new AgentryError('artifact_denied', `step ${o.stepId}: artifact name '${name.slice(0, 120)}' ${normalised.problem}`, { details: { name } });
      }
      if (!matchesArtifactPatterns(normalised.name, o.patterns)) {
        const declared = o.patterns.length === 0 ? 'declares no artifacts' : `declares only ${o.patterns.map((p) => `'${p}'`).join(', ')}`;
        throw new AgentryError(
          'artifact_denied',
          `step ${o.stepId}: artifact '${normalised.name}' is not declared (workflow ${o.workflow} ${declared} in artifacts:)`,
          {
            details: { name: normalised.name, declared: [...o.patterns] },
          },
        );
      }
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      if (bytes.byteLength > o.limits.maxFileBytes) {
        throw new AgentryError(
          'artifact_too_large',
          `step ${o.stepId}: artifact '${normalised.name}' is ${bytes.byteLength} bytes, past the per-file limit of ${o.limits.maxFileBytes}`,
          { details: { name: normalised.name, size: bytes.byteLength, limit: o.limits.maxFileBytes } },
        );
      }
      return o.store.put({
        runId: o.runId,
        tenantId: o.tenantId,
        stepId: o.stepId,
        name: normalised.name,
        contentType: mediaType(contentType),
        content: bytes,
        maxRunBytes: o.limits.maxRunBytes,
      });
    },
  };
}

/** `type/subtype` with its parameters when well-formed (one line, at most 200 characters), else `application/octet-stream`. */
export function mediaType(value: string | undefined): string {
  const text = (value ?? '').trim();
  return text.length <= 200 && /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[^"\r\n]*"|[\w.+-]+))*$/.test(text) ? text : 'application/octet-stream';
}
