/**
 * The credential inventory (`GET /v1/security/credentials`, `agentry credentials list`): every
 * secret the configuration and the project refer to, whether it resolves, where it comes from
 * and what uses it — never a value. After a leak it answers "what else could the holder of
 * this secret reach, and which agents and workflows used it" (docs/operations/leaked-secret.md).
 *
 * What counts as a secret reference:
 * - the configuration's secret options (`AGENTRY_API_KEYS`, the password in `AGENTRY_DATABASE_URL`,
 *   `AGENTRY_GATEWAY_API_KEY`, `AGENTRY_INTERNAL_SECRET`, …: the options marked `secret` in `config-options.ts`);
 * - gateway.yaml: each provider's key (`api_key: "{{ env.NAME }}"` or its default variable) and
 *   the variables its `base_url` reads, and variables its `env:` declares secret;
 * - tools/*.yaml: every variable a tool server reads (`env:`, `headers:`, `url`, `args`);
 * - workflows and agentry.yaml: the variables their `env:` declares `secret: true`.
 * An agent uses what its model group's providers and its tool servers use; a workflow step what
 * its template reads, its agent and its tool server use.
 */
import { AgentryError } from '../lib/errors.js';
import type { Caller } from './caller.js';
import { templateReferences } from '../spec/index.js';
import type { LoadResult } from '../spec/index.js';
import type { Config } from './config.js';
import { CONFIG_OPTIONS, type OptionKey } from './config-options.js';
import type { CredentialDto } from './dto/credentials.js';
import { secretFromEnv } from './secret-files.js';

type Project = LoadResult['project'];

/** What the inventory is taken from: the process's configuration, its project, and its environment as given (with `NAME_FILE`s). */
export interface CredentialSources {
  config: Config;
  project: Project | undefined;
  env: NodeJS.ProcessEnv;
}

/** The variable a provider reads its key from when `api_key` is not given. */
const DEFAULT_KEY_ENV: Readonly<Record<string, string>> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };

/** What uses each secret option of the configuration. */
const OPTION_USE: Partial<Record<OptionKey, string>> = {
  databaseUrl: 'server:database',
  apiKeys: 'server:api keys',
  gatewayApiKey: 'server:remote gateway',
  internalSecret: 'server:internal service tokens',
  internalSecretPrevious: 'server:internal service tokens (rotation)',
  apiKey: 'cli:AGENTRY_URL client',
};

interface Entry {
  resolved: boolean;
  source: CredentialDto['source'];
  usedBy: Set<string>;
}

class Inventory {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** A variable the project reads; `literalDefault`: its `env:` block gives a default. */
  variable(name: string, usedBy: string, literalDefault = false): void {
    const existing = this.entries.get(name);
    if (existing) {
      existing.usedBy.add(usedBy);
      return;
    }
    const fromFile = (this.env[`${name}_FILE`] ?? '') !== '';
    const { value } = secretFromEnv(this.env, name);
    const resolved = value !== undefined || literalDefault;
    const source = fromFile ? 'file' : value === undefined && literalDefault ? 'literal' : 'env';
    this.entries.set(name, { resolved, source, usedBy: new Set([usedBy]) });
  }

  option(name: string, entry: Omit<Entry, 'usedBy'>, usedBy: string): void {
    this.entries.set(name, { ...entry, usedBy: new Set([usedBy]) });
  }

  /** Adds `user` to every secret already used by `by` (an agent through its tool servers, …). */
  alsoUsedBy(by: string, user: string): void {
    for (const entry of this.entries.values()) if (entry.usedBy.has(by)) entry.usedBy.add(user);
  }

  list(): CredentialDto[] {
    return [...this.entries]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, e]) => ({ name, resolved: e.resolved, source: e.source, used_by: [...e.usedBy].sort() }));
  }
}

function hasUrlPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || (parsed.searchParams.get('password') ?? '') !== '';
  } catch {
    return false;
  }
}

/** The configuration's secret options that are set or needed. */
function configCredentials(inventory: Inventory, { config, env }: CredentialSources): void {
  const set = (value: string | undefined): boolean => value !== undefined && value !== '';
  const remoteGatewayUnauthenticated = config.gateway !== undefined && !set(config.gateway.apiKey) && !set(config.internal.secret);
  const wanted: Partial<Record<OptionKey, boolean | undefined>> = {
    databaseUrl: config.database.kind === 'postgres' && hasUrlPassword(config.databaseUrl) ? true : undefined,
    apiKeys: config.server.auth ? set(config.server.apiKeys) : undefined,
    // A remote gateway is called with internal service tokens when the secret is set, else with
    // the gateway key: each is listed when set, and both as unresolved when neither is.
    gatewayApiKey: set(config.gateway?.apiKey) ? true : remoteGatewayUnauthenticated ? false : undefined,
    internalSecret: set(config.internal.secret) ? true : remoteGatewayUnauthenticated ? false : undefined,
    internalSecretPrevious: set(config.internal.previousSecret) ? true : undefined,
    apiKey: config.client.url !== undefined ? set(config.client.apiKey) : undefined,
  };
  for (const [key, spec] of Object.entries(CONFIG_OPTIONS) as Array<[OptionKey, (typeof CONFIG_OPTIONS)[OptionKey]]>) {
    if (!('secret' in spec) || spec.secret !== true) continue;
    const resolved = wanted[key];
    if (resolved === undefined) continue;
    const from = config.sources[key];
    const source = from === 'env' ? ((env[`${spec.env}_FILE`] ?? '') !== '' ? 'file' : 'env') : 'literal';
    inventory.option(spec.env, { resolved, source }, OPTION_USE[key] ?? `config:${key}`);
  }
}

function secretNames(block: Readonly<Record<string, { secret?: boolean; default?: string }>> | undefined): Array<[string, boolean]> {
  return Object.entries(block ?? {}).flatMap(([name, v]) => (v.secret === true ? [[name, v.default !== undefined] as [string, boolean]] : []));
}

function projectCredentials(inventory: Inventory, project: Project): void {
  const { gateway } = project;
  if (gateway) {
    for (const [name, provider] of Object.entries(gateway.providers)) {
      const user = `gateway:provider ${name}`;
      const keyVar = provider.api_key === undefined ? DEFAULT_KEY_ENV[provider.type] : [...templateReferences(provider.api_key).env][0];
      if (keyVar !== undefined) inventory.variable(keyVar, user);
      for (const variable of templateReferences(provider.base_url ?? '').env) inventory.variable(variable, user);
    }
    for (const [name, hasDefault] of secretNames(gateway.env)) inventory.variable(name, 'gateway', hasDefault);
  }
  for (const [name, tool] of project.tools) {
    for (const variable of templateReferences(tool).env) inventory.variable(variable, `tool:${name}`);
  }
  for (const [name, hasDefault] of secretNames(project.settings.env)) inventory.variable(name, 'agentry.yaml env', hasDefault);
  for (const [name, agent] of project.agents) {
    const servers = new Set((agent.tools ?? []).map((entry) => entry.split('.')[0] ?? entry));
    for (const server of servers) inventory.alsoUsedBy(`tool:${server}`, `agent:${name}`);
    const group = gateway?.models[agent.model];
    for (const target of group?.targets ?? []) inventory.alsoUsedBy(`gateway:provider ${target.provider}`, `agent:${name}`);
  }
  for (const wf of project.workflows.values()) {
    const declared = (wf.spec.env ?? {}) as Record<string, { default?: string }>;
    const secrets = new Set(wf.secrets);
    const rawSteps = (wf.spec.steps ?? {}) as Record<string, unknown>;
    for (const name of secrets) {
      const readers = Object.entries(rawSteps).filter(([, raw]) => templateReferences(raw).env.has(name));
      const users = readers.length === 0 ? [`workflow:${wf.name}`] : readers.map(([id]) => `workflow:${wf.name} step ${id}`);
      for (const user of users) inventory.variable(name, user, declared[name]?.default !== undefined);
    }
    for (const [id, step] of wf.steps) {
      const user = `workflow:${wf.name} step ${id}`;
      if (step.kind === 'agent') inventory.alsoUsedBy(`agent:${step.config}`, user);
      if (step.kind === 'tool') inventory.alsoUsedBy(`tool:${step.config.server}`, user);
    }
  }
}

/** Every secret reference of the configuration and the project, sorted by name. Never a value. */
export function credentialInventory(sources: CredentialSources): CredentialDto[] {
  const inventory = new Inventory(sources.env);
  configCredentials(inventory, sources);
  if (sources.project) projectCredentials(inventory, sources.project);
  return inventory.list();
}

/** Narrows a listing: only what does not resolve, only what one user (`agent:triage`; `workflow:x` includes its steps) uses. */
export interface CredentialFilter {
  unresolved?: boolean | undefined;
  usedBy?: string | undefined;
}

/** The entries of `items` that pass `filter`. */
export function filterCredentials(items: readonly CredentialDto[], filter: CredentialFilter): CredentialDto[] {
  const uses = (user: string): boolean => filter.usedBy === undefined || user === filter.usedBy || user.startsWith(`${filter.usedBy} `);
  return items.filter((c) => (filter.unresolved !== true || !c.resolved) && c.used_by.some(uses));
}

/**
 * The inventory as a service: taken anew on each call (a secret file rotated since start shows
 * as it is now). `sources` undefined: a process without configuration (tests), an empty list.
 */
export class CredentialService {
  constructor(
    private readonly sources: CredentialSources | undefined,
    /** The deployment's tenant (`AGENTRY_TENANT`): its callers are the deployment's operators. */
    private readonly deploymentTenant: string,
  ) {}

  /**
   * The deployment's secrets are no other tenant's business: only system admins and callers of
   * the deployment's own tenant read them, so one tenant does not learn which secrets the
   * deployment holds and what uses them.
   */
  list(caller: Caller, filter: CredentialFilter = {}): CredentialDto[] {
    if (caller.systemAdmin !== true && caller.tenantId !== this.deploymentTenant) {
      throw new AgentryError(
        'forbidden',
        `the credential inventory is the deployment's: callers of tenant ${caller.tenantId ?? '?'} may not read it (docs/security.md#credential-inventory)`,
      );
    }
    return filterCredentials(this.sources === undefined ? [] : credentialInventory(this.sources), filter);
  }
}
