#!/usr/bin/env node
/**
 * `npm run scan:secrets`: fails when a file of the repository holds something that looks like a
 * real credential — a private key, a cloud or LLM provider key, a token — so a key pasted into a
 * test, an example or a config file is caught before it is pushed (CI runs it in `npm test`).
 * No dependencies: gitleaks is not available everywhere this has to run.
 *
 * Scans the files git tracks plus untracked files that are not ignored (`git ls-files`), in the
 * repository of the working directory. Prints `file:line: kind (prefix…) fp:<fingerprint>` for
 * each finding — never the secret, only a masked prefix — and exits 1; 0 when clean; 2 when it
 * cannot run (not a repository, a bad allow-list).
 *
 * False positives and fakes planted on purpose (tests of redaction use fake keys) go in
 * `.secretscan-allow` at the repository root, one entry a line, each with the reason as a
 * comment (on the line, or on the comment lines just above):
 *
 *   # The redaction tests plant fake provider keys to show they are masked.
 *   test/unit/redact.test.ts
 *   fp:3f0c9a1b2d4e5f60   # the documented example token in docs/api.md
 *
 * A path entry is a glob (`*` within a folder, `**` across folders) that skips whole files; a
 * `fp:` entry skips one secret value wherever it appears (its fingerprint is printed with the
 * finding). Prefer fingerprints: a path entry also hides a real key added to that file later.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Files larger than this are data, not source: skipped. */
const MAX_FILE_BYTES = 2 * 1024 * 1024;
const ALLOW_FILE = '.secretscan-allow';

/**
 * The secret shapes, each with the capture group (`secret`) that is the secret itself.
 * Provider prefixes are matched whole-word so identifiers that merely contain them do not count.
 */
const RULES = [
  { kind: 'private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  { kind: 'AWS access key', pattern: /\b(?<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b/g },
  { kind: 'Anthropic key', pattern: /\b(?<secret>sk-ant-[A-Za-z0-9_-]{20,})/g },
  { kind: 'OpenAI key', pattern: /\b(?<secret>sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})/g },
  { kind: 'GitHub token', pattern: /\b(?<secret>(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})/g },
  { kind: 'Slack token', pattern: /\b(?<secret>xox[abprs]-[A-Za-z0-9-]{10,})/g },
  { kind: 'Google API key', pattern: /\b(?<secret>AIza[0-9A-Za-z_-]{35})/g },
  { kind: 'Stripe key', pattern: /\b(?<secret>(?:sk|rk)_live_[0-9A-Za-z]{16,})/g },
  { kind: 'JWT', pattern: /\b(?<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})/g },
  {
    kind: 'secret assignment',
    pattern: /\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[\w-]*["']?\s*[:=]\s*["'`](?<secret>[^"'`\s]{20,})["'`]/gi,
    /** Only values that look random: a name, a path or a sentence is not a secret. */
    accept: (value) => looksRandom(value),
  },
];

/** Shannon entropy in bits per character. */
function entropy(value) {
  const counts = new Map();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

/** High entropy, letters and digits mixed, and not a template, URL or path. */
function looksRandom(value) {
  if (/[{}$<>()/\\]|\.\.\.|…/.test(value)) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  return entropy(value) >= 3.5;
}

function fingerprint(secret) {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/** What may be printed of a secret: its first characters (a provider prefix tells which key it is). */
function masked(secret) {
  return `${secret.slice(0, Math.min(6, Math.floor(secret.length / 4)))}…`;
}

/** `*` matches within one path segment, `**` across segments, `?` one character. */
function globToRegExp(glob) {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*' && glob[i + 1] === '*') {
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

class ConfigError extends Error {}

/** Reads the allow-list: path globs and fingerprints, each of which must give its reason. */
function readAllowList(root) {
  const allow = { paths: [], fingerprints: new Set() };
  const file = join(root, ALLOW_FILE);
  if (!existsSync(file)) return allow;
  let reasonAbove = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.trim();
      if (line === '') return void (reasonAbove = false);
      if (line.startsWith('#')) return void (reasonAbove = true);
      const [entry, ...comment] = line.split(/\s+#\s*/);
      if (!reasonAbove && comment.join('').trim() === '') {
        throw new ConfigError(`${ALLOW_FILE}:${index + 1}: '${entry}' needs a reason (a # comment on the line or just above)`);
      }
      if (entry.startsWith('fp:')) allow.fingerprints.add(entry.slice(3));
      else allow.paths.push(globToRegExp(entry));
    });
  return allow;
}

function repositoryFiles(root) {
  const output = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  return [...new Set(output.toString('utf8').split('\0').filter(Boolean))].sort();
}

/** The text of a regular file worth scanning, or undefined (deleted, a symlink, binary, too large). */
function readText(path) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return undefined;
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 8000).includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** Findings in one file's text: line, kind, masked prefix and fingerprint of each secret. */
function scanText(text) {
  const findings = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    for (const rule of RULES) {
      for (const match of line.matchAll(rule.pattern)) {
        const secret = match.groups?.secret ?? match[0];
        if (rule.accept && !rule.accept(secret)) continue;
        findings.push({ line: index + 1, kind: rule.kind, prefix: masked(secret), fingerprint: fingerprint(secret) });
      }
    }
  });
  return findings;
}

function main() {
  let root;
  try {
    root = execFileSync('git', ['rev-parse', '--show-toplevel'], { stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  } catch {
    process.stderr.write('scan-secrets: not inside a git repository\n');
    return 2;
  }
  let allow;
  try {
    allow = readAllowList(root);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`scan-secrets: ${error.message}\n`);
    return 2;
  }
  let count = 0;
  let scanned = 0;
  for (const file of repositoryFiles(root)) {
    if (file === ALLOW_FILE || allow.paths.some((glob) => glob.test(file))) continue;
    const text = readText(join(root, file));
    if (text === undefined) continue;
    scanned++;
    for (const finding of scanText(text)) {
      if (allow.fingerprints.has(finding.fingerprint)) continue;
      count++;
      process.stdout.write(`${file}:${finding.line}: ${finding.kind} (${finding.prefix}) fp:${finding.fingerprint}\n`);
    }
  }
  if (count === 0) {
    process.stdout.write(`scan-secrets: no secrets in ${scanned} files\n`);
    return 0;
  }
  process.stdout.write(
    `\nscan-secrets: ${count} possible secret${count === 1 ? '' : 's'}. Remove real keys (and rotate them: they may already be in the history);` +
      ` for a fake one planted on purpose, add its fp:<fingerprint> with a reason to ${ALLOW_FILE}.\n`,
  );
  return 1;
}

process.exitCode = main();
