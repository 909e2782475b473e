/**
 * What this process knows is secret, gathered in one place for its `Redactor`: the keys and
 * URL credentials of its configuration, and — once a project is loaded — the values of the
 * env variables the project declares secret, its provider keys and its tool servers'
 * rendered credentials. The redactor is built once and passed down (logger, engine, server).
 */
import { Redactor, urlCredentials } from '../lib/redact.js';
import { templateReferences } from '../spec/index.js';
import type { Config } from './config.js';
import type { LoadResult } from '../spec/index.js';

type Project = LoadResult['project'];

/** The env variables a gateway provider reads its key from when `api_key` is not given. */
const DEFAULT_KEY_ENV: Readonly<Record<string, string>> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };

/** The key of each `name:key:role` entry of `AGENTRY_API_KEYS`. */
function apiKeyValues(list: string | undefined): string[] {
  return (list ?? '').split(';').flatMap((entry) => {
    const key = entry.split(':')[1]?.trim();
    return key ? [key] : [];
  });
}

/**
 * The secrets of the configuration: API keys (the break-glass key too), the gateway's key and URL
 * credentials, the internal secret (current and previous), the database password.
 */
export function configSecrets(config: Config): string[] {
  return [
    ...apiKeyValues(config.server.apiKeys),
    ...(config.server.adminApiKey === undefined ? [] : [config.server.adminApiKey]),
    ...(config.client.apiKey === undefined ? [] : [config.client.apiKey]),
    ...(config.gateway ? [...urlCredentials(config.gateway.url), ...(config.gateway.apiKey === undefined ? [] : [config.gateway.apiKey])] : []),
    ...[config.internal.secret, config.internal.previousSecret].filter((secret): secret is string => secret !== undefined),
    ...urlCredentials(config.databaseUrl),
  ];
}

/** Values in `env` of the variables named. */
function valuesOf(names: Iterable<string>, env: NodeJS.ProcessEnv): string[] {
  return [...names].flatMap((name) => (env[name] ? [env[name]] : []));
}

/** Names of the variables declared `secret: true` in an `env:` block. */
function secretNames(block: Readonly<Record<string, { secret?: boolean }>> | undefined): string[] {
  return Object.entries(block ?? {}).flatMap(([name, v]) => (v.secret === true ? [name] : []));
}

/**
 * The secrets of a project: declared secret env values (workflows, `agentry.yaml`,
 * gateway.yaml), the env variables provider keys come from, and those tool servers render
 * into their environment and headers.
 */
export function projectSecrets(project: Project, env: NodeJS.ProcessEnv): string[] {
  const names = new Set<string>(secretNames(project.settings.env));
  for (const wf of project.workflows.values()) for (const name of wf.secrets) names.add(name);
  if (project.gateway) {
    for (const name of secretNames(project.gateway.env)) names.add(name);
    for (const provider of Object.values(project.gateway.providers)) {
      const ref = provider.api_key === undefined ? DEFAULT_KEY_ENV[provider.type] : /env\.([A-Z_][A-Z0-9_]*)/.exec(provider.api_key)?.[1];
      if (ref !== undefined) names.add(ref);
    }
  }
  for (const tool of project.tools.values()) {
    for (const name of templateReferences([tool.env ?? {}, tool.headers ?? {}]).env) names.add(name);
  }
  return valuesOf(names, env);
}

/** The process's redactor from its configuration; add the project's secrets once it is loaded. */
export function redactorFor(config: Config): Redactor {
  return new Redactor({ secrets: configSecrets(config), pii: config.redactPii });
}
