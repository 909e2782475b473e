/** What the API returns for the credential inventory (`/v1/security/credentials`): names and where they come from, never values. */
import { Type, type Static } from 'typebox';

export const CredentialSchema = Type.Object(
  {
    name: Type.String({ description: 'The environment variable (or configuration option) that holds the secret' }),
    resolved: Type.Boolean({ description: 'Whether it has a value now (set, or its NAME_FILE readable)' }),
    source: Type.Enum(['env', 'file', 'literal'], {
      description: 'env: the environment; file: NAME_FILE; literal: written in agentry.yaml, a flag or a spec default',
    }),
    used_by: Type.Array(Type.String(), {
      description: "What uses it: 'gateway:provider openai', 'tool:github', 'agent:triage', 'workflow:x step y', 'server:api keys', …",
    }),
  },
  { title: 'Credential' },
);
export type CredentialDto = Static<typeof CredentialSchema>;

export const CredentialListSchema = Type.Object({ items: Type.Array(CredentialSchema) }, { title: 'CredentialList' });
export type CredentialListDto = Static<typeof CredentialListSchema>;
