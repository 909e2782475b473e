/** What the API returns for a run's artifacts (`GET /v1/runs/{id}/artifacts`). */
import { Type, type Static } from 'typebox';
import type { ArtifactRecord } from '../../store/store.js';
import { Time, iso } from './common.js';

export const ArtifactSchema = Type.Object(
  {
    name: Type.String({ description: 'Relative path the step wrote it under (out/report.md)' }),
    size: Type.Integer({ minimum: 0, description: 'Bytes' }),
    sha256: Type.String({ description: 'Hex sha256 of the bytes' }),
    content_type: Type.String({ description: 'Media type the step gave (an http response header, the agent tool)' }),
    created_at: Time,
    step: Type.String({ description: 'The step that wrote it' }),
  },
  { title: 'Artifact' },
);

export const ArtifactListSchema = Type.Object(
  { run_id: Type.String(), items: Type.Array(ArtifactSchema, { description: 'By name' }), total_bytes: Type.Integer({ minimum: 0 }) },
  { title: 'ArtifactList' },
);

export type ArtifactDto = Static<typeof ArtifactSchema>;
export type ArtifactListDto = Static<typeof ArtifactListSchema>;

export function artifactDto(r: ArtifactRecord): ArtifactDto {
  return { name: r.name, size: r.size, sha256: r.sha256, content_type: r.contentType, created_at: iso(r.createdAt), step: r.stepId };
}
