/**
 * A run's artifacts (docs/artifacts.md): the list, and one file to download. A download is
 * always an attachment with `nosniff` and a sandboxing CSP, never rendered inline, whatever the
 * content type a step gave it.
 */
import { Type } from 'typebox';
import { ArtifactListSchema } from '../../app/dto/artifacts.js';
import { MAX_ARTIFACT_NAME_LENGTH } from '../../lib/artifact-path.js';
import type { RouteTable, ServerDeps } from '../route.js';

const RunId = Type.String({ minLength: 1, maxLength: 128, description: 'Run id' });

/** `attachment` with the file's last segment as its name (ASCII fallback and RFC 5987 UTF-8). */
function disposition(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const ascii = base.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

export function artifactRoutes(table: RouteTable, deps: ServerDeps): void {
  const { artifacts } = deps.services;

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/artifacts',
    scope: 'runs:read',
    summary: "The files a run's steps wrote: name, size, sha256, content type, when and by which step",
    tags: ['runs'],
    errors: ['not_found'],
    schema: { operationId: 'listRunArtifacts', params: Type.Object({ id: RunId }), response: { 200: ArtifactListSchema } },
    handler: (request, _reply, principal) => artifacts.list(principal, request.params.id),
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/artifacts/*',
    scope: 'runs:read',
    summary: 'Download one artifact of a run (an attachment with its content type; never rendered inline)',
    tags: ['runs'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'getRunArtifact',
      params: Type.Object({
        id: RunId,
        '*': Type.String({ minLength: 1, maxLength: MAX_ARTIFACT_NAME_LENGTH * 3, description: 'The artifact name (a relative path such as out/report.md)' }),
      }),
      response: {
        200: { description: "The artifact's bytes", content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } },
      },
    },
    async handler(request, reply, principal) {
      const { artifact, content } = await artifacts.download(principal, request.params.id, request.params['*']);
      return reply
        .type(artifact.content_type)
        .header('content-length', String(content.length))
        .header('content-disposition', disposition(artifact.name))
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('cache-control', 'private, no-store')
        .header('repr-digest', `sha-256=:${Buffer.from(artifact.sha256, 'hex').toString('base64')}:`)
        .send(content);
    },
  });
}
