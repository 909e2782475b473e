/** A run's checkpoints (each recorded change of its state) and the diff of its state between two of them (docs/api.md#checkpoint-diff). */
import { Type } from 'typebox';
import { CheckpointDiffSchema, CheckpointPageSchema } from '../../app/dto/checkpoints.js';
import { RUN_DIFF_LIMIT } from '../../app/run-diff.js';
import type { RouteTable, ServerDeps } from '../route.js';
import { DIFF_LIMIT } from './runs.js';

const RunId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'Run id' }) });
const Seq = (description: string) => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });

export function checkpointRoutes(table: RouteTable, deps: ServerDeps): void {
  const { runs } = deps.services;

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/checkpoints',
    scope: 'runs:read',
    summary: "A run's checkpoints: each recorded change of its state (a run.* or step.* event) with its sequence number, step, attempt and time",
    tags: ['runs'],
    errors: ['not_found'],
    schema: {
      operationId: 'listRunCheckpoints',
      params: RunId,
      querystring: Type.Object({
        after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Checkpoints with seq greater than this' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Events read for this page (checkpoints are among them)' })),
      }),
      response: { 200: CheckpointPageSchema },
    },
    handler: (request, _reply, principal) => runs.checkpoints(principal, request.params.id, request.query.after ?? 0, request.query.limit ?? 100),
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/checkpoints/diff',
    scope: 'runs:read',
    summary:
      "What changed in a run's state (run status, output and error; each step's status, attempt, output and error) from checkpoint `from` to checkpoint `to`, as JSON Pointer paths",
    tags: ['runs'],
    errors: ['not_found', 'invalid_request'],
    schema: {
      operationId: 'diffRunCheckpoints',
      params: RunId,
      querystring: Type.Object({
        from: Seq('The earlier checkpoint (its seq)'),
        to: Seq('The later checkpoint (its seq); from ≤ to'),
        limit: DIFF_LIMIT,
      }),
      response: { 200: CheckpointDiffSchema },
    },
    handler: (request, _reply, principal) =>
      runs.checkpointDiff(principal, request.params.id, request.query.from, request.query.to, request.query.limit ?? RUN_DIFF_LIMIT.default),
  });
}
