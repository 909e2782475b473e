/**
 * `agentry keys create|list|revoke|rotate`: managed API keys (docs/security.md#managed-api-keys),
 * in the project's store (`AGENTRY_DATABASE_URL` or the project's SQLite file) or, with
 * `AGENTRY_URL`, on that server (`/v1/admin/keys`, a key with the admin role). `create` and
 * `rotate` print the new secret alone on stdout — the only time it is ever shown — and what they
 * did, with that warning, on stderr; `--json` prints the API's answer instead.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { ApiKeyDto, ApiKeyPageDto, IssuedKeyDto, RevokedKeysDto } from '../../app/dto/keys.js';
import type { CreateKeyInput, KeyListQuery, RotateKeyInput } from '../../app/keys.js';
import { AgentryError } from '../../lib/errors.js';
import { RemoteClient } from '../remote.js';
import { configFrom, loggerFor, noteRemoteDir, out, outJson, outStyle, parseIntegerArg, type CliContext, DIR_OPTION } from '../context.js';
import { formatIso, paint, table } from '../format.js';

const TENANT_OPTION = ['--tenant <tenant>', "the key's tenant (default: the deployment's, AGENTRY_TENANT or default)"] as const;
const SHOWN_ONCE = 'This key is shown only this once: store it now. It cannot be shown again (rotate the key if it is lost).';

/** Where the keys are: the server's API, or the project's store. */
interface KeysApi {
  create(input: CreateKeyInput): Promise<IssuedKeyDto>;
  list(query: KeyListQuery): Promise<ApiKeyPageDto>;
  revoke(ref: string, tenant: string | undefined): Promise<RevokedKeysDto>;
  rotate(ref: string, input: RotateKeyInput): Promise<IssuedKeyDto>;
}

async function withKeys<T>(ctx: CliContext, dir: string | undefined, fn: (api: KeysApi) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, { projectDir: dir });
  noteRemoteDir(ctx, config, dir);
  if (config.client.url !== undefined) return fn(serverApi(config));
  // Loaded only for local mode: they open the store.
  const [{ storeExists }, { openLocalKeys }, { grantProblems }] = await Promise.all([
    import('../../app/bootstrap.js'),
    import('../../app/local.js'),
    import('../../server/scopes.js'),
  ]);
  if (!storeExists(config)) {
    // Nothing to list, revoke or rotate, and none of those creates the store; `create` does.
    const none = (ref: string) =>
      Promise.reject(new AgentryError('not_found', `key ${ref} not found: there is no store at ${config.database.file ?? 'the database'} yet`));
    return fn({
      list: () => Promise.resolve({ items: [], next_cursor: null }),
      create: (input) => withLocal((api) => api.create(input)),
      revoke: none,
      rotate: none,
    });
  }
  return withLocal(fn);

  async function withLocal<R>(use: (api: KeysApi) => Promise<R>): Promise<R> {
    const local = await openLocalKeys(config, { logger: loggerFor(config), checkGrants: grantProblems });
    const caller = localOperator(ctx.env);
    try {
      return await use({
        create: (input) => local.keys.create(caller, input),
        list: (query) => local.keys.list(caller, query),
        revoke: (ref, tenant) => local.keys.revoke(caller, ref, tenant),
        rotate: (ref, input) => local.keys.rotate(caller, ref, input),
      });
    } finally {
      await local.close();
    }
  }
}

function serverApi(config: Config): KeysApi {
  const client = new RemoteClient({ url: config.client.url!, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
  const tenantQuery = (tenant: string | undefined) => (tenant === undefined ? '' : `?tenant=${encodeURIComponent(tenant)}`);
  const path = (ref: string, verb: string, tenant: string | undefined) => `/v1/admin/keys/${encodeURIComponent(ref)}/${verb}${tenantQuery(tenant)}`;
  return {
    create: (input) =>
      client.request('POST', `/v1/admin/keys${tenantQuery(input.tenant)}`, {
        name: input.name,
        roles: input.roles,
        ...(input.expiresIn === undefined ? {} : { expires_in: input.expiresIn }),
      }),
    list: (query) => {
      const params = new URLSearchParams({ limit: String(query.limit) });
      if (query.tenant !== undefined) params.set('tenant', query.tenant);
      if (query.name !== undefined) params.set('name', query.name);
      if (query.cursor !== undefined) params.set('cursor', query.cursor);
      return client.request('GET', `/v1/admin/keys?${params.toString()}`);
    },
    revoke: (ref, tenant) => client.request('POST', path(ref, 'revoke', tenant), {}),
    rotate: (ref, input) =>
      client.request('POST', path(ref, 'rotate', input.tenant), {
        ...(input.grace === undefined ? {} : { grace: input.grace }),
        ...(input.expiresIn === undefined ? {} : { expires_in: input.expiresIn }),
      }),
  };
}

function describeKey(k: ApiKeyDto): string {
  return `${k.name} (${k.id}) of tenant ${k.tenant_id}`;
}

/** The secret alone on stdout (for `KEY=$(agentry keys create …)`), the rest on stderr. */
function printIssued(ctx: CliContext, issued: IssuedKeyDto, json: boolean | undefined, what: string): void {
  if (json === true) outJson(ctx, issued);
  else out(ctx, issued.secret);
  const { key, previous } = issued;
  const expiry = key.expires_at === null ? 'does not expire' : `expires ${key.expires_at}`;
  ctx.stderr.write(`${what} key ${describeKey(key)}: roles ${key.roles.join(', ')}; ${expiry}.\n`);
  if (previous) {
    const until = previous.grace_until === null ? 'no longer works' : `keeps working until ${previous.grace_until}`;
    ctx.stderr.write(`The replaced key ${previous.id} ${until}: move its clients to the new key before then.\n`);
  }
  ctx.stderr.write(`WARNING: ${SHOWN_ONCE}\n`);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('Managed API keys in the database: create, list, revoke, rotate (the secret is shown once)')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY of an admin) set, the commands ask that server. See docs/security.md#managed-api-keys.');

  keys
    .command('create')
    .description('Create a key; prints its secret once on stdout (a warning on stderr)')
    .requiredOption('--name <name>', 'the principal the key signs in as (1–64 letters, digits or _.@-; unique among the tenant’s keys)')
    .requiredOption('--role <role>', 'a role (admin, operator, service, reviewer, viewer), a raw scope or role:<task role>; repeatable', collect)
    .option(...TENANT_OPTION)
    .option('--expires <duration>', 'stop working after this long (e.g. 90d, 12h; at most 3650d); default: never')
    .option('--json', 'print { key, secret } as POST /v1/admin/keys does')
    .option(...DIR_OPTION)
    .action(async (opts: { name: string; role: string[]; tenant?: string; expires?: string; json?: boolean; dir?: string }) => {
      const issued = await withKeys(ctx, opts.dir, (api) => api.create({ name: opts.name, roles: opts.role, tenant: opts.tenant, expiresIn: opts.expires }));
      printIssued(ctx, issued, opts.json, 'Created');
    });

  keys
    .command('list')
    .description('List keys, newest first, with their status (never their secrets)')
    .option('--tenant <tenant>', 'only keys of this tenant')
    .option('--name <name>', 'only keys of this name')
    .option('--limit <n>', 'keys per page (1–500, default 100)', parseIntegerArg(1, 500))
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .option('--json', 'print { items, next_cursor } as GET /v1/admin/keys does')
    .option(...DIR_OPTION)
    .action(async (opts: { tenant?: string; name?: string; limit?: number; cursor?: string; json?: boolean; dir?: string }) => {
      const page = await withKeys(ctx, opts.dir, (api) => api.list({ tenant: opts.tenant, name: opts.name, limit: opts.limit ?? 100, cursor: opts.cursor }));
      if (opts.json === true) return outJson(ctx, page);
      if (page.items.length === 0) return out(ctx, 'No keys.');
      const s = outStyle(ctx);
      const status = (st: string) => paint(s, st === 'active' ? 'green' : st === 'grace' ? 'yellow' : 'red', st);
      out(
        ctx,
        table(
          s,
          ['ID', 'TENANT', 'NAME', 'ROLES', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
          page.items.map((k) => [
            k.id,
            k.tenant_id,
            k.name,
            k.roles.join(','),
            status(k.status),
            formatIso(k.created_at),
            formatIso(k.status === 'grace' ? k.grace_until : k.expires_at),
            formatIso(k.last_used_at),
          ]),
        ),
      );
      if (page.next_cursor !== null) out(ctx, `More: --cursor ${page.next_cursor}`);
    });

  keys
    .command('revoke')
    .description('Revoke a key at once (by name: every key of the name not yet revoked); every API process refuses it within 5 s')
    .argument('<key>', 'a key id (key_…), the start of its secret (agk_…), or its name')
    .option(...TENANT_OPTION)
    .option('--json', 'print { revoked } as POST /v1/admin/keys/{id}/revoke does')
    .option(...DIR_OPTION)
    .action(async (ref: string, opts: { tenant?: string; json?: boolean; dir?: string }) => {
      const result = await withKeys(ctx, opts.dir, (api) => api.revoke(ref, opts.tenant));
      if (opts.json === true) return outJson(ctx, result);
      for (const k of result.revoked) out(ctx, `Revoked key ${describeKey(k)}.`);
    });

  keys
    .command('rotate')
    .description('Replace a key by a new secret under the same name; the old one works for the grace period; prints the new secret once')
    .argument('<key>', 'the name of the key (or its id key_…)')
    .option(...TENANT_OPTION)
    .option('--grace <duration>', 'how long the old key keeps working (default 24h, at most 30d; 0s: it stops at once)')
    .option('--expires <duration>', 'how long the new key works (default: as long as the old one was given)')
    .option('--json', 'print { key, secret, previous } as POST /v1/admin/keys/{id}/rotate does')
    .option(...DIR_OPTION)
    .action(async (ref: string, opts: { tenant?: string; grace?: string; expires?: string; json?: boolean; dir?: string }) => {
      const issued = await withKeys(ctx, opts.dir, (api) => api.rotate(ref, { tenant: opts.tenant, grace: opts.grace, expiresIn: opts.expires }));
      printIssued(ctx, issued, opts.json, 'Rotated');
    });
}
