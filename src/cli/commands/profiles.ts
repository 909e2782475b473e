/**
 * `agentry login --profile <name> --url … --key …|--key-env VAR`: stores a server and its key as
 * a profile (checked with `GET /v1/auth/whoami` first, unless `--no-verify`) and makes it the
 * current one. `agentry profiles list|use|remove`. The file and how a profile is chosen:
 * `src/cli/profiles.ts`. Keys are never printed.
 */
import type { Command } from 'commander';
import { Agent } from 'undici';
import { AgentryError } from '../../lib/errors.js';
import { out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table } from '../format.js';
import { assertProfileName, checkProfile, pickProfile, profileKey, readProfiles, writeProfiles, type Profile } from '../profiles.js';
import { RemoteClient } from '../remote.js';

interface LoginOptions {
  profile: string;
  url: string;
  key?: string;
  keyEnv?: string;
  verify: boolean;
  use: boolean;
}

interface WhoAmI {
  principal: string | null;
  roles: string[];
  tenant_id: string | null;
}

/** The profiles file, with a note on stderr when reading it upgraded an older one. */
function profilesOf(ctx: CliContext): ReturnType<typeof readProfiles> {
  const read = readProfiles(ctx.env);
  if (read.upgraded) ctx.stderr.write(`note: upgraded ${read.path} from version ${read.upgraded.from} (the original is kept as ${read.upgraded.backup})\n`);
  return read;
}

export function registerLogin(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('Store a server and its API key as a profile (checked against the server first) and make it the current one')
    .requiredOption('--profile <name>', 'profile name (e.g. prod, staging)')
    .requiredOption('--url <url>', 'base URL of the server')
    .option('--key <key>', 'the API key, stored in the profiles file (mode 0600)')
    .option('--key-env <var>', 'read the key from this environment variable whenever the profile is used (nothing secret is stored)')
    .option('--no-verify', 'store without asking the server who the key is')
    .option('--no-use', 'keep the current profile as it is')
    .addHelpText(
      'after',
      '\nThe file is $XDG_CONFIG_HOME/agentry/profiles.json (~/.config/agentry/profiles.json). Remote commands then use the current profile when AGENTRY_URL is not set; --profile <name> or AGENTRY_PROFILE_NAME pick another. See docs/cli.md#profiles.',
    )
    .action(async (opts: LoginOptions) => {
      assertProfileName(opts.profile);
      if (opts.key === undefined && opts.keyEnv === undefined) throw new AgentryError('invalid_request', 'give the key: --key <key> or --key-env <VAR>');
      const profile: Profile = {
        url: opts.url.trim().replace(/\/+$/, ''),
        ...(opts.key === undefined ? {} : { key: opts.key.trim() }),
        ...(opts.keyEnv === undefined ? {} : { key_env: opts.keyEnv }),
      };
      checkProfile(profile);
      const { file } = profilesOf(ctx);
      let who: WhoAmI | undefined;
      if (opts.verify) {
        const apiKey = profileKey(opts.profile, profile, ctx.env);
        // Its own pool, closed at once: the command leaves no connection open behind it.
        const dispatcher = new Agent();
        try {
          who = await new RemoteClient({ url: profile.url, dispatcher, ...(apiKey === undefined ? {} : { apiKey }) }).request<WhoAmI>('GET', '/v1/auth/whoami');
        } finally {
          await dispatcher.close();
        }
      }
      const replaced = file.profiles[opts.profile] !== undefined;
      file.profiles[opts.profile] = profile;
      if (opts.use || file.current === null) file.current = opts.profile;
      const path = writeProfiles(ctx.env, file);
      const as = who === undefined ? '' : ` as ${who.principal ?? '(auth off)'}${who.roles.length > 0 ? ` (${who.roles.join(', ')})` : ''}`;
      out(
        ctx,
        `${replaced ? 'Updated' : 'Saved'} profile ${opts.profile}: ${profile.url}${as}${file.current === opts.profile ? ', now current' : ''} (${path})`,
      );
    });
}

export function registerProfiles(program: Command, ctx: CliContext): void {
  const profiles = program
    .command('profiles')
    .description('CLI profiles (servers and their keys, from agentry login): list them, pick the current one, remove one');
  profiles
    .command('list')
    .description('Every profile: name, URL, where its key comes from (never the key), and which is current')
    .option('--json', 'print { path, current, items: [{ name, url, key, current }] }')
    .action((opts: { json?: boolean }) => {
      const { file, path } = profilesOf(ctx);
      const items = Object.entries(file.profiles)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, p]) => ({
          name,
          url: p.url,
          key: p.key_env !== undefined ? `env:${p.key_env}` : p.key !== undefined ? 'stored' : 'none',
          current: file.current === name,
        }));
      if (opts.json === true) return outJson(ctx, { path, current: file.current, items });
      if (items.length === 0) return out(ctx, `No profiles in ${path} (add one: agentry login --profile <name> --url … --key …).`);
      const s = outStyle(ctx);
      out(
        ctx,
        table(
          s,
          ['', 'name', 'url', 'key'],
          items.map((i) => [i.current ? paint(s, 'green', '*') : '', i.name, i.url, i.key]),
        ),
      );
    });
  profiles
    .command('use')
    .description('Make a profile the current one (used by remote commands when AGENTRY_URL is not set)')
    .argument('<name>', 'profile name')
    .action((name: string) => {
      const { file, path } = profilesOf(ctx);
      pickProfile(file, name, path);
      file.current = name;
      writeProfiles(ctx.env, file);
      out(ctx, `Profile ${name} is now current: ${file.profiles[name]!.url}`);
    });
  profiles
    .command('remove')
    .description('Remove a profile (the current one: then none is current)')
    .argument('<name>', 'profile name')
    .action((name: string) => {
      const { file, path } = profilesOf(ctx);
      pickProfile(file, name, path);
      delete file.profiles[name];
      if (file.current === name) file.current = null;
      writeProfiles(ctx.env, file);
      out(ctx, `Removed profile ${name}.`);
    });
}
