/**
 * Environment policies (docs/environments.md): the ones in force, an operator's replacement of
 * one (stored, applied by every API process within seconds, audited), and reports of how a spec
 * or a stored run fares against the active environment's policy. Starting a run that breaks it
 * answers `policy_violation` (422) from the runs routes.
 */
import { Type } from 'typebox';
import { PolicyEntrySchema, PolicyListSchema, PolicyReportSchema } from '../../app/dto/policies.js';
import { AgentryError } from '../../lib/errors.js';
import { NAME_PATTERN, PolicySchema } from '../../spec/schemas.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Environment = Type.Object({
  environment: Type.String({ pattern: NAME_PATTERN, maxLength: 64, description: 'Environment name (environments: of agentry.yaml)' }),
});
const EnvironmentQuery = Type.Object(
  {
    environment: Type.Optional(Type.String({ pattern: NAME_PATTERN, maxLength: 64, description: 'Judge against this environment (default: the active one)' })),
  },
  { additionalProperties: false },
);

export function policyRoutes(table: RouteTable, deps: ServerDeps): void {
  const { policies } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/policies',
    scope: 'specs:read',
    deploymentWide: true,
    summary: 'The environment policies in force (agentry.yaml, or stored with PUT) and which environment is active',
    tags: ['policies'],
    errors: [],
    schema: { operationId: 'listPolicies', response: { 200: PolicyListSchema } },
    handler: () => policies.list(),
  });

  table.add({
    method: 'PUT',
    url: '/v1/policies/:environment',
    scope: 'policies:write',
    deploymentWide: true,
    summary: "Replace an environment's policy on every API process (kept across restarts; audited); operators and admins only",
    tags: ['policies'],
    errors: ['not_found', 'forbidden'],
    schema: { operationId: 'putPolicy', params: Environment, body: PolicySchema, response: { 200: PolicyEntrySchema } },
    async handler(request, _reply, principal) {
      const entry = await policies.put(principal, request.params.environment, request.body);
      request.log.warn({ environment: request.params.environment, principal: principal.name }, `policy of environment ${request.params.environment} replaced`);
      return entry;
    },
  });

  table.add({
    method: 'DELETE',
    url: '/v1/policies/:environment',
    scope: 'policies:write',
    deploymentWide: true,
    summary: "Drop an environment's stored policy: the one of agentry.yaml applies again (audited)",
    tags: ['policies'],
    errors: ['not_found', 'forbidden'],
    schema: { operationId: 'resetPolicy', params: Environment, response: { 200: PolicyEntrySchema } },
    handler: (request, _reply, principal) => policies.reset(principal, request.params.environment),
  });

  table.add({
    method: 'POST',
    url: '/v1/specs/policy-report',
    scope: 'specs:read',
    deploymentWide: true,
    summary: "How a project workflow, or an inline workflow spec, fares against an environment's policy (nothing is started)",
    tags: ['specs', 'policies'],
    errors: ['not_found', 'spec_invalid'],
    schema: {
      operationId: 'specPolicyReport',
      body: Type.Object(
        {
          workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'A workflow of the project' })),
          spec: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'An inline workflow spec (judged as an ad-hoc run)' })),
          environment: EnvironmentQuery.properties.environment,
        },
        { additionalProperties: false },
      ),
      response: { 200: PolicyReportSchema },
    },
    handler(request) {
      const { workflow, spec, environment } = request.body;
      if ((workflow === undefined) === (spec === undefined))
        throw new AgentryError('invalid_request', 'give either workflow (a project workflow) or spec (an inline workflow spec)');
      return policies.report({ ...(workflow === undefined ? { spec } : { workflow }), ...(environment === undefined ? {} : { environment }) });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/runs/:id/policy-report',
    scope: 'specs:read',
    summary: "How a stored run's spec fares against an environment's policy in force now",
    tags: ['runs', 'policies'],
    errors: ['not_found'],
    schema: {
      operationId: 'runPolicyReport',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
      querystring: EnvironmentQuery,
      response: { 200: PolicyReportSchema },
    },
    handler: (request, _reply, principal) => policies.runReport(principal, request.params.id, request.query.environment),
  });
}
