/**
 * Finds secrets written literally in the project's files (agentry.yaml, gateway.yaml, tools/,
 * agents/ and workflows/) instead of read from the environment (`{{ env.NAME }}`): a key committed to a
 * repository is a leaked key. Line-based on purpose, so each finding names `file:line` and the
 * key without parsing (or echoing) the value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretBearingFiles } from './secret-files.js';

/** Shapes of well-known credentials, wherever they appear. */
const KNOWN_SHAPES: Array<[string, RegExp]> = [
  ['an Anthropic key', /\bsk-ant-[A-Za-z0-9_-]{16,}/],
  ['an OpenAI-style key', /\bsk-(proj-)?[A-Za-z0-9_-]{20,}/],
  ['a GitHub token', /\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/],
  ['a Slack token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/],
  ['an AWS access key id', /\bAKIA[0-9A-Z]{16}\b/],
];

/** Keys whose values are credentials. */
const SECRET_KEY = /(api[_-]?key|apikey|token|secret|passw(or)?d|authorization|credential|private[_-]?key)$/i;
/** Keys that are always a credential when given literally (a provider's `api_key:`). */
const ALWAYS_SECRET_KEY = /^api[_-]?key$/i;

const PAIR = /([A-Za-z0-9_-]+)["']?\s*:\s*("([^"]*)"|'([^']*)'|[^,{}[\]#]+)/g;

/** `{{ env.X }}`, `${X}`, numbers, booleans, null: not a literal secret. */
function isReference(value: string): boolean {
  return /\{\{.*\}\}/.test(value) || /^\$\{?[A-Za-z_]/.test(value) || /^(-?\d+(\.\d+)?|true|false|null|~)$/i.test(value);
}

/** Shannon entropy in bits per character: random tokens have ≥ 3.5, words and names less. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= (count / text.length) * Math.log2(count / text.length);
  return bits;
}

/** `  - key: value` → indent of `key` and `key`; undefined for a line that opens no key. */
const BLOCK_KEY = /^(\s*(?:-\s+)*)["']?([A-Za-z0-9_.-]+)["']?\s*:(\s|$)/;

/**
 * The dotted key path of each line of a YAML text (`providers.openai.api_key`), from its
 * indentation: enough to point at a value without parsing it. Lines that open no key (list
 * items, continuations) get their parent's path.
 */
function keyPaths(lines: readonly string[]): string[] {
  const stack: Array<{ indent: number; key: string }> = [];
  return lines.map((line) => {
    if (line.trim() === '') return stack.map((entry) => entry.key).join('.');
    const match = BLOCK_KEY.exec(line);
    const indent = match ? (match[1] as string).length : line.length - line.trimStart().length;
    while (stack.length > 0 && (stack.at(-1) as { indent: number }).indent >= indent) stack.pop();
    if (match) stack.push({ indent, key: match[2] as string });
    return stack.map((entry) => entry.key).join('.');
  });
}

/** One finding per line, `<file>:<line>: …`, naming the key (and its path) or the kind of credential, never the value. */
export function findLiteralSecrets(text: string, file: string): string[] {
  const findings: string[] = [];
  const lines = text.split('\n').map((raw) => raw.replace(/(^|\s)#.*$/, ''));
  const paths = keyPaths(lines);
  lines.forEach((line, index) => {
    const at = `${file}:${index + 1}`;
    const path = paths[index] ?? '';
    const where = path === '' ? '' : ` (at ${path})`;
    const shape = KNOWN_SHAPES.find(([, pattern]) => pattern.test(line));
    if (shape !== undefined) {
      findings.push(`${at}: ${shape[0]} is written literally${where}; read it from the environment ({{ env.NAME }})`);
      return;
    }
    for (const match of line.matchAll(PAIR)) {
      const key = match[1] as string;
      const value = (match[3] ?? match[4] ?? match[2] ?? '').trim().replace(/^(bearer|basic|token)\s+/i, '');
      if (value === '' || !SECRET_KEY.test(key) || isReference(value)) continue;
      const tokenLike = value.length >= 16 && !/\s/.test(value) && entropy(value) >= 3.5;
      if (ALWAYS_SECRET_KEY.test(key) || tokenLike) {
        findings.push(`${at}: '${key}' holds a literal secret${where}; read it from the environment ({{ env.NAME }})`);
        return;
      }
    }
  });
  return findings;
}

/** Literal secrets in the project's files (agentry.yaml, gateway.yaml, tools/, agents/, workflows/). */
export function scanProjectForSecrets(projectDir: string): string[] {
  return secretBearingFiles(projectDir).flatMap((file) => findLiteralSecrets(readFileSync(join(projectDir, file), 'utf8'), file));
}
