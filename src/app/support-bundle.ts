/**
 * `agentry support-bundle`: what support needs to look at an unknown failure, in one gzip tar of
 * plain files, nothing secret. The bundle is a list of small collectors, one per file
 * (`support-collectors.ts`, `support-runs.ts`); each runs on its own, so one failing (the
 * database down, the server unreachable) writes `<file>.error.txt` with the error instead and the
 * rest is still written. Every file's text — JSON as written, so no string escapes a mask — passes
 * through the bundle's masks (`support-secrets.ts`) on its way into the archive; `README.txt`
 * says what each file is.
 *
 *   const result = await writeSupportBundle({ out: 'b.tgz', collectors, context, mask, header });
 *   // result.failed: the files whose collector failed (each has its .error.txt)
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import { toAgentryError } from '../lib/errors.js';

/** One file of the bundle: its path inside the archive, what it holds, and how it is gathered. */
export interface Collector<C> {
  file: string;
  /** One line for README.txt. */
  about: string;
  /** The file's content: text as is, anything else as pretty JSON. */
  collect(context: C): Promise<unknown>;
  /** Why this file is not collected here (e.g. no `--url`); undefined: collect it. */
  skip?(context: C): string | undefined;
}

export interface SupportBundleOptions<C> {
  /** The archive to write (mode 0600; replaced if it exists). */
  out: string;
  collectors: readonly Collector<C>[];
  context: C;
  /** Masks every secret the process knows; applied to every file's text and every error. */
  mask: (text: string) => string;
  /** Told as each file is gathered (the CLI prints it on stderr). */
  onProgress?: (line: string) => void;
  /** Written at the top of README.txt. */
  header: string;
}

export interface SupportBundleResult {
  out: string;
  /** Every file in the archive, README.txt first. */
  files: string[];
  /** Files whose collector failed, with the error (the archive holds `<file>.error.txt` instead). */
  failed: { file: string; error: string }[];
  /** Files not collected, with the reason. */
  skipped: { file: string; reason: string }[];
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`;
}

/** Gathers every collector's file into a temporary folder (0700), then packs it into `out` (0600). */
export async function writeSupportBundle<C>(options: SupportBundleOptions<C>): Promise<SupportBundleResult> {
  const { collectors, context, mask } = options;
  const progress = options.onProgress ?? (() => undefined);
  const staging = mkdtempSync(join(tmpdir(), 'agentry-support-'));
  const files: string[] = [];
  const failed: SupportBundleResult['failed'] = [];
  const skipped: SupportBundleResult['skipped'] = [];
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(staging, file)), { recursive: true, mode: 0o700 });
    writeFileSync(join(staging, file), mask(text), { mode: 0o600 });
    files.push(file);
  };
  try {
    for (const collector of collectors) {
      const reason = collector.skip?.(context);
      if (reason !== undefined) {
        skipped.push({ file: collector.file, reason });
        progress(`- ${collector.file}: skipped (${reason})`);
        continue;
      }
      progress(`- ${collector.file}`);
      try {
        write(collector.file, textOf(await collector.collect(context)));
      } catch (error) {
        const message = toAgentryError(error).message;
        failed.push({ file: collector.file, error: mask(message) });
        write(`${collector.file}.error.txt`, `${collector.file} could not be collected: ${message}\n`);
        progress(`  failed: ${mask(message)}`);
      }
    }
    write('README.txt', readme(options.header, collectors, failed, skipped));
    files.unshift(files.pop()!);
    // Created empty first so the archive is never readable by others, even while it is written.
    writeFileSync(options.out, '', { mode: 0o600 });
    chmodSync(options.out, 0o600);
    await createTar({ gzip: true, file: options.out, cwd: staging, portable: true, mode: 0o600 }, files);
    chmodSync(options.out, 0o600);
    return { out: options.out, files, failed, skipped };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function readme<C>(
  header: string,
  collectors: readonly Collector<C>[],
  failed: SupportBundleResult['failed'],
  skipped: SupportBundleResult['skipped'],
): string {
  const width = Math.max(...collectors.map((c) => c.file.length), 'README.txt'.length);
  const lines = [header, '', 'Files:', `  ${'README.txt'.padEnd(width)}  this file`];
  for (const c of collectors) lines.push(`  ${c.file.padEnd(width)}  ${c.about}`);
  if (failed.length > 0) {
    lines.push('', 'Not collected (each has <file>.error.txt with the error):');
    for (const f of failed) lines.push(`  ${f.file}: ${f.error}`);
  }
  if (skipped.length > 0) {
    lines.push('', 'Skipped:');
    for (const s of skipped) lines.push(`  ${s.file}: ${s.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
