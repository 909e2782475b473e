/**
 * Artifact names: the relative paths a run's files are stored under (`out/report.md`), and the
 * patterns a workflow's `artifacts:` declares (`out/report.md`, `reports/*.md`, `data/**`).
 *
 * A name is normalised (Unicode NFC, `./` and repeated `/` removed) and must then be a relative
 * POSIX path of 1–8 segments, each of letters, digits and `._-` (never `.` or `..`), 255
 * characters at most: no absolute path, no backslash, nothing that climbs out of the run's
 * artifacts. In a pattern a segment may also hold `*` (any characters but `/`) and `?` (one), and
 * a whole segment `**` matches any number of segments.
 */

export const MAX_ARTIFACT_NAME_LENGTH = 255;
const MAX_SEGMENTS = 8;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const PATTERN_SEGMENT = /^[A-Za-z0-9._*?-]+$/;

/** `name` normalised, or why it is no artifact name. */
export function normalizeArtifactName(name: string): { name: string } | { problem: string } {
  const problem = shapeProblem(name, SEGMENT, 'letters, digits and ._-');
  if (typeof problem === 'string') return { problem };
  return { name: problem.join('/') };
}

/** Why `pattern` is no artifact pattern, or undefined when it is one. */
export function artifactPatternProblem(pattern: string): string | undefined {
  const shape = shapeProblem(pattern, PATTERN_SEGMENT, 'letters, digits, ._- and the wildcards * ? **');
  if (typeof shape === 'string') return shape;
  const bad = shape.find((s) => s.includes('**') && s !== '**');
  return bad === undefined ? undefined : `'**' must be a whole path segment (in '${bad}')`;
}

/** Whether the (normalised) `name` matches one of `patterns`. */
export function matchesArtifactPatterns(name: string, patterns: readonly string[]): boolean {
  const segments = name.split('/');
  return patterns.some((pattern) => matchSegments(segments, normalizedPattern(pattern).split('/')));
}

function normalizedPattern(pattern: string): string {
  const shape = shapeProblem(pattern, PATTERN_SEGMENT, '');
  return typeof shape === 'string' ? pattern : shape.join('/');
}

/** The segments of `text` normalised, or why it is not a relative path of allowed segments. */
function shapeProblem(text: string, segment: RegExp, allowed: string): string[] | string {
  if (text.includes('\0')) return 'must not contain a NUL character';
  if (text.includes('\\')) return 'must use / between segments, not \\';
  const nfc = text.normalize('NFC');
  if (nfc.startsWith('/') || /^[A-Za-z]:/.test(nfc)) return `must be a relative path, not '${nfc.slice(0, 80)}'`;
  const segments = nfc.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) return 'must name a file';
  if (segments.includes('..')) return `must not contain '..' (in '${nfc.slice(0, 80)}')`;
  if (segments.length > MAX_SEGMENTS) return `has more than ${MAX_SEGMENTS} path segments`;
  const joined = segments.join('/');
  if (joined.length > MAX_ARTIFACT_NAME_LENGTH) return `is longer than ${MAX_ARTIFACT_NAME_LENGTH} characters`;
  const bad = segments.find((s) => !segment.test(s));
  if (bad !== undefined) return `segment '${bad.slice(0, 80)}' may only hold ${allowed}`;
  return segments;
}

function matchSegments(name: readonly string[], pattern: readonly string[]): boolean {
  if (pattern.length === 0) return name.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') {
    for (let skip = 0; skip <= name.length; skip++) if (matchSegments(name.slice(skip), rest)) return true;
    return false;
  }
  if (name.length === 0 || !segmentRegExp(head!).test(name[0]!)) return false;
  return matchSegments(name.slice(1), rest);
}

function segmentRegExp(segment: string): RegExp {
  const source = segment
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${source}$`);
}
