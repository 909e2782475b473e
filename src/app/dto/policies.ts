/** What the API returns for environment policies (`/v1/policies`) and policy reports. */
import { Type, type Static } from 'typebox';
import { PolicySchema } from '../../spec/schemas.js';
import { POLICY_RULES } from '../policies.js';

export const PolicyEntrySchema = Type.Object(
  {
    environment: Type.String({ description: 'Environment name (`environments:` of agentry.yaml)' }),
    active: Type.Boolean({ description: 'The environment this deployment runs in (AGENTRY_ENVIRONMENT, or the one named like AGENTRY_ENV)' }),
    source: Type.Enum(['project', 'stored'], {
      description: 'project: the policy of agentry.yaml; stored: one set with PUT /v1/policies/{env}, which replaces it',
    }),
    policy: PolicySchema,
    updated_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the stored policy was set' })),
    updated_by: Type.Optional(Type.String({ description: 'Who set the stored policy' })),
  },
  { title: 'EnvironmentPolicy' },
);
export type PolicyEntryDto = Static<typeof PolicyEntrySchema>;

export const PolicyListSchema = Type.Object(
  {
    active: Type.Union([Type.String(), Type.Null()], { description: 'The active environment; null: none (no policy applies)' }),
    items: Type.Array(PolicyEntrySchema),
  },
  { title: 'EnvironmentPolicyList' },
);
export type PolicyListDto = Static<typeof PolicyListSchema>;

export const PolicyViolationSchema = Type.Object(
  {
    rule: Type.Enum([...POLICY_RULES]),
    path: Type.String({ description: 'Where in the workflow spec (`steps.fetch.http.url`; empty: the whole workflow)' }),
    message: Type.String(),
    severity: Type.Enum(['error', 'warning'], { description: 'error: a run is refused (policy_violation); warning: it starts' }),
  },
  { title: 'PolicyViolation' },
);

export const PolicyReportSchema = Type.Object(
  {
    environment: Type.Union([Type.String(), Type.Null()], { description: 'The environment judged against; null: none is active (nothing is checked)' }),
    workflow: Type.String(),
    run_id: Type.Optional(Type.String({ description: 'The run whose stored spec was judged' })),
    allowed: Type.Boolean({ description: 'A run of this spec would start in the environment (no error-severity violation)' }),
    violations: Type.Array(PolicyViolationSchema),
  },
  { title: 'PolicyReport' },
);
export type PolicyReportDto = Static<typeof PolicyReportSchema>;
