/**
 * `agentry bundle build|sign|verify`: pack a project's specs into one file with a manifest of
 * their hashes, sign it with an ed25519 key, and check it as `serve --bundle … --require-signed-specs`
 * would (docs/security.md#signed-spec-bundles).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildBundle, parseBundle, signBundle, trustKey, verifyBundle, type Bundle } from '../../app/bundle.js';
import { AgentryError } from '../../lib/errors.js';
import { plural } from '../format.js';
import { out, outJson, type CliContext } from '../context.js';

function readText(file: string, label: string): string {
  if (!existsSync(file)) throw new AgentryError('invalid_request', `${label} ${file} does not exist`);
  return readFileSync(file, 'utf8');
}

/** Writes through a temporary file, so a reader never sees half a bundle. */
function writeBundle(file: string, bundle: Bundle): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(bundle, null, 2)}\n`);
  renameSync(tmp, file);
}

/** The OS user running the command (`USER`, else the account's name): the default approver. */
function osUser(ctx: CliContext): string {
  const fromEnv = ctx.env.USER ?? ctx.env.USERNAME;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    return userInfo().username;
  } catch {
    throw new AgentryError('invalid_request', 'cannot tell who approves the bundle: pass --approved-by <name>');
  }
}

const envText = (env: string | undefined): string => (env === undefined ? '' : ` for env '${env}'`);

/** `--pub a.pem --pub b.pem` */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerBundle(program: Command, ctx: CliContext): void {
  const bundle = program.command('bundle').description('Signed spec bundles: build, sign and verify the file a server loads with --bundle');
  bundle
    .command('build')
    .description("Pack a project's spec files into one bundle file with a manifest of their sha256 hashes")
    .argument('[dir]', 'project directory (default: $AGENTRY_PROJECT_DIR or .)')
    .option('--out <file>', 'bundle file to write', 'project.bundle.json')
    .option('--json', 'print { file, hash, files } as JSON')
    .action((dir: string | undefined, opts: { out: string; json?: boolean }) => {
      const projectDir = resolve(ctx.cwd, dir ?? ctx.env.AGENTRY_PROJECT_DIR ?? '.');
      const built = buildBundle(projectDir);
      if (built.manifest.files.length === 0) throw new AgentryError('invalid_request', `${projectDir} holds no spec files (agentry.yaml, workflows/*.yaml, …)`);
      const file = resolve(ctx.cwd, opts.out);
      writeBundle(file, built);
      const { hash } = verifyBundle(built, { trustKeys: [] });
      if (opts.json) {
        outJson(ctx, { file, hash, files: built.manifest.files });
        return;
      }
      out(ctx, `wrote ${file}: ${plural(built.manifest.files.length, 'file')}, ${hash} (unsigned: agentry bundle sign ${opts.out} --key <private.pem>)`);
    });
  bundle
    .command('sign')
    .description('Sign a bundle with an ed25519 private key (PEM); replaces an earlier signature')
    .argument('<bundle>', 'bundle file (signed in place unless --out)')
    .requiredOption('--key <pem>', 'ed25519 private key, PEM (openssl genpkey -algorithm ed25519)')
    .option('--signer <name>', 'who signs, as /readyz shows it (default: the key file name without extension)')
    .option('--approved-by <name>', 'who approved these specs, recorded in the signed manifest (default: the OS user)')
    .option('--env <env>', 'the environment they are approved for (e.g. prod), recorded in the signed manifest; serve --bundle-env requires it')
    .option('--out <file>', 'write the signed bundle here instead')
    .option('--json', 'print { file, hash, signer, key_id, approved_by, env } as JSON')
    .action((bundleArg: string, opts: { key: string; signer?: string; approvedBy?: string; env?: string; out?: string; json?: boolean }) => {
      const source = resolve(ctx.cwd, bundleArg);
      const keyFile = resolve(ctx.cwd, opts.key);
      const signer = opts.signer ?? basename(keyFile).replace(/\.[^.]*$/, '');
      const approvedBy = opts.approvedBy ?? osUser(ctx);
      const signed = signBundle(parseBundle(readText(source, 'bundle'), `bundle ${source}`), readText(keyFile, 'key'), signer, { approvedBy, env: opts.env });
      const file = opts.out === undefined ? source : resolve(ctx.cwd, opts.out);
      writeBundle(file, signed);
      const { hash } = verifyBundle(signed, { trustKeys: [] });
      const keyId = signed.signature?.key_id ?? '';
      if (opts.json) {
        outJson(ctx, { file, hash, signer, key_id: keyId, approved_by: approvedBy, env: opts.env ?? null });
        return;
      }
      out(ctx, `signed ${file} as '${signer}' (key ${keyId}), approved by '${approvedBy}'${envText(opts.env)}: ${hash}`);
    });
  bundle
    .command('verify')
    .description('Check every file of a bundle against its manifest and its signature against trusted keys (exit 2 when refused)')
    .argument('<bundle>', 'bundle file')
    .option('--pub <pem>', 'trusted ed25519 public key, PEM (repeatable); with one, the bundle must be signed by one of them', collect)
    .option('--env <env>', 'the bundle must be approved for this environment (as serve --bundle-env checks)')
    .option('--json', 'print { file, hash, files, signed, signer, key_id, verified, approved_by, env } as JSON')
    .action((bundleArg: string, opts: { pub?: string[]; env?: string; json?: boolean }) => {
      const file = resolve(ctx.cwd, bundleArg);
      const keys = (opts.pub ?? []).map((p) => resolve(ctx.cwd, p)).map((p) => trustKey(readText(p, 'public key'), `public key ${p}`));
      const parsed = parseBundle(readText(file, 'bundle'), `bundle ${file}`);
      const verified = verifyBundle(parsed, { trustKeys: keys, requireSignature: keys.length > 0, requireEnv: opts.env });
      const signature = parsed.signature;
      if (opts.json) {
        outJson(ctx, {
          file,
          hash: verified.hash,
          files: parsed.manifest.files.length,
          signed: signature !== undefined,
          signer: signature?.signer ?? null,
          key_id: signature?.key_id ?? null,
          verified: verified.signer !== undefined,
          approved_by: verified.approvedBy ?? null,
          env: verified.env ?? null,
        });
        return;
      }
      const files = plural(parsed.manifest.files.length, 'file');
      const approval = verified.approvedBy === undefined ? '' : `; approved by '${verified.approvedBy}'${envText(verified.env)}`;
      if (verified.signer)
        out(ctx, `✓ ${file}: ${files} match the manifest; signed by '${verified.signer.name}' (key ${verified.signer.keyId})${approval}; ${verified.hash}`);
      else if (signature)
        out(ctx, `✓ ${file}: ${files} match the manifest; signed by '${signature.signer}' but not checked (no --pub)${approval}; ${verified.hash}`);
      else out(ctx, `✓ ${file}: ${files} match the manifest; unsigned; ${verified.hash}`);
    });
}
