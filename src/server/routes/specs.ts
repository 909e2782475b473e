/** Specs: validate a set of spec files without loading them into the server. */
import { Type } from 'typebox';
import { validateSpecFiles } from '../../app/spec-validation.js';
import { AgentryError } from '../../lib/errors.js';
import { LIMITS } from '../../lib/limits.js';
import type { RouteTable, ServerDeps } from '../route.js';

/** Files a project may hold: `agentry.yaml`, `gateway.yaml`, `workflows/*.yaml`, `agents/*.yaml`, `tools/*.yaml`. */
const SPEC_FILE = '^(?:(?:agentry|gateway)\\.ya?ml|(?:workflows|agents|tools)/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.ya?ml)$';

const DiagnosticSchema = Type.Object({
  file: Type.String(),
  line: Type.Integer(),
  column: Type.Integer(),
  path: Type.String(),
  message: Type.String(),
  severity: Type.Enum(['error', 'warning']),
});

export function specRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'POST',
    url: '/v1/specs/validate',
    scope: 'specs:read',
    deploymentWide: true,
    summary: 'Validate spec files (nothing is loaded or changed)',
    tags: ['specs'],
    errors: ['limit_exceeded', 'payload_too_large', 'rate_limited'],
    schema: {
      operationId: 'validateSpec',
      body: Type.Object(
        {
          files: Type.Record(Type.String({ pattern: SPEC_FILE }), Type.String(), {
            maxProperties: LIMITS.specFiles,
            description: 'Spec files by path relative to the project, e.g. { "workflows/hello.yaml": "<yaml>" }',
          }),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          valid: Type.Boolean({ description: 'True when no diagnostic is an error' }),
          workflows: Type.Array(Type.String(), { description: 'Workflows that loaded' }),
          diagnostics: Type.Array(DiagnosticSchema),
        }),
      },
    },
    async handler(request) {
      const files = request.body.files;
      // The schema checks each name; checked again here, as the names become paths in the validation worker.
      for (const name of Object.keys(files))
        if (!new RegExp(SPEC_FILE).test(name)) throw new AgentryError('invalid_request', `'${name}' is not a spec file path`);
      // Plugin steps and plugin tools are checked against this server's plugins.
      return validateSpecFiles(files, deps.services.plugins?.catalog());
    },
  });
}
