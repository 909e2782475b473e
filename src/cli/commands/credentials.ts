/**
 * `agentry credentials list`: the credential inventory — every secret the configuration and the
 * project refer to, whether it resolves, where it comes from (env, NAME_FILE, literal) and what
 * uses it; never a value. Locally from the project and this shell's environment, or (with
 * `AGENTRY_URL`) the server's `GET /v1/security/credentials`, which is what the server sees.
 */
import type { Command } from 'commander';
import type { CredentialDto, CredentialListDto } from '../../app/dto/credentials.js';
import { RemoteClient } from '../remote.js';
import { configFrom, noteRemoteDir, out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table } from '../format.js';

export interface ListOptions {
  dir?: string;
  unresolved?: boolean;
  usedBy?: string;
  json?: boolean;
}

/** The inventory: the server's (AGENTRY_URL) or this project's and shell's. */
export async function inventory(ctx: CliContext, opts: ListOptions): Promise<CredentialDto[]> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  if (config.client.url !== undefined) {
    const client = new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
    const query = new URLSearchParams();
    if (opts.unresolved === true) query.set('unresolved', 'true');
    if (opts.usedBy !== undefined) query.set('used_by', opts.usedBy);
    return (await client.request<CredentialListDto>('GET', `/v1/security/credentials?${query.toString()}`)).items;
  }
  const [{ loadProjectOrThrow }, { credentialInventory, filterCredentials }] = await Promise.all([
    import('../../app/bootstrap.js'),
    import('../../app/credentials.js'),
  ]);
  const project = await loadProjectOrThrow(config, ctx.env);
  return filterCredentials(credentialInventory({ config, project, env: ctx.env }), opts);
}

export function registerCredentials(program: Command, ctx: CliContext): void {
  const credentials = program
    .command('credentials')
    .description('The credential inventory: which secrets the configuration and project refer to, whether each resolves, what uses it')
    .addHelpText(
      'after',
      '\nNever prints a value. With AGENTRY_URL (and a key with credentials:read) set, asks that server. See docs/security.md#credential-inventory.',
    );
  credentials
    .command('list')
    .description('List every secret reference: name, resolved, source (env, file, literal) and what uses it')
    .option('--dir <dir>', 'project directory (default: $AGENTRY_PROJECT_DIR or .; ignored with AGENTRY_URL)')
    .option('--unresolved', 'only the secrets that do not resolve')
    .option('--used-by <user>', "only the secrets used by this ('agent:triage', 'tool:github', 'workflow:x')")
    .option('--json', 'print { items: [{ name, resolved, source, used_by }] } as the API does')
    .action((opts: ListOptions) => printInventory(ctx, opts));
}

/** `credentials list` and `config secrets`: the table, or `{ items }` as the API answers. */
export async function printInventory(ctx: CliContext, opts: ListOptions): Promise<void> {
  const items = await inventory(ctx, opts);
  if (opts.json === true) return outJson(ctx, { items });
  if (items.length === 0) return out(ctx, 'No secret references.');
  const s = outStyle(ctx);
  out(
    ctx,
    table(
      s,
      ['NAME', 'RESOLVED', 'SOURCE', 'USED BY'],
      items.map((c) => [c.name, c.resolved ? paint(s, 'green', 'yes') : paint(s, 'red', 'no'), c.source, c.used_by.join(', ')]),
    ),
  );
  const missing = items.filter((c) => !c.resolved).length;
  if (missing > 0) out(ctx, paint(s, 'yellow', `${missing} of ${items.length} do not resolve: set them (or their NAME_FILE) before starting.`));
}
