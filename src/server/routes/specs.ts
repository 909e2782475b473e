/** Specs: validate a set of spec files without loading them into the server. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Type } from 'typebox';
import { AVAILABLE_KINDS } from '../../app/bootstrap.js';
import { AgentryError } from '../../lib/errors.js';
import { loadProject } from '../../app/project.js';
import type { RouteTable } from '../route.js';

/** Files a project may hold: `agentry.yaml`, `gateway.yaml`, `workflows/*.yaml`, `agents/*.yaml`, `tools/*.yaml`. */
const SPEC_FILE = '^(?:(?:agentry|gateway)\\.ya?ml|(?:workflows|agents|tools)/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\.ya?ml)$';
const MAX_FILES = 200;

const DiagnosticSchema = Type.Object({
  file: Type.String(),
  line: Type.Integer(),
  column: Type.Integer(),
  path: Type.String(),
  message: Type.String(),
  severity: Type.Enum(['error', 'warning']),
});

export function specRoutes(table: RouteTable): void {
  table.add({
    method: 'POST',
    url: '/v1/specs/validate',
    scope: 'specs:read',
    summary: 'Validate spec files (nothing is loaded or changed)',
    tags: ['specs'],
    errors: [],
    schema: {
      body: Type.Object(
        {
          files: Type.Record(Type.String({ pattern: SPEC_FILE }), Type.String(), {
            maxProperties: MAX_FILES,
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
      const files = Object.entries(request.body.files);
      // The schema checks each name; this keeps the check next to the file system use.
      for (const [name] of files) if (!new RegExp(SPEC_FILE).test(name)) throw new AgentryError('invalid_request', `'${name}' is not a spec file path`);
      const dir = await mkdtemp(join(tmpdir(), 'agentry-validate-'));
      try {
        for (const [name, text] of files) {
          await mkdir(dirname(join(dir, name)), { recursive: true });
          await writeFile(join(dir, name), text);
        }
        const { project, diagnostics } = await loadProject(dir, { availableKinds: AVAILABLE_KINDS, env: {} });
        return {
          valid: !diagnostics.some((d) => d.severity === 'error'),
          workflows: [...project.workflows.keys()].sort(),
          diagnostics,
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  });
}
