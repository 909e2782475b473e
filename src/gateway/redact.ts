/**
 * Scrubbing of provider credentials from text: the configured key values themselves, and
 * anything shaped like an API key or a bearer credential (SDK error messages sometimes echo
 * part of a key, e.g. "Incorrect API key provided: sk-abc***xyz").
 */

export const REDACTED = '[redacted]';

/** Shapes of credentials that are scrubbed even when they are not one of the configured values. */
const KEY_SHAPES: readonly RegExp[] = [
  // OpenAI (sk-…, sk-proj-…), Anthropic (sk-ant-…) and similar prefixed keys, masked or not.
  /\bsk-[A-Za-z0-9_*.-]{8,}/g,
  // Authorization headers and their bearer credential.
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]{6,}/gi,
  // `x-api-key: …`, `api_key=…`, `"apiKey": "…"` and the like.
  /\b(x-api-key|api[_-]?key|apikey|authorization)(["']?\s*[:=]\s*["']?)[^\s"',}]{4,}/gi,
];

/** Secrets shorter than this are not matched as plain text (too many false positives). */
const MIN_SECRET_LENGTH = 6;

/** `text` with every configured secret and every key-shaped string replaced by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  const values = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  for (const secret of values) out = out.split(secret).join(REDACTED);
  out = out.replace(KEY_SHAPES[0]!, REDACTED);
  out = out.replace(KEY_SHAPES[1]!, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(KEY_SHAPES[2]!, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  return out;
}

/**
 * A copy of an error (and of its `cause` chain) safe to log or return: messages and stacks
 * scrubbed, SDK internals (headers, raw bodies, request objects) dropped. The copy keeps
 * `name`, `status`, `code` and `type` so callers can still classify it.
 */
export function scrubError(error: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redactSecrets(error, secrets) : error;
  const copy = new Error(redactSecrets(error.message, secrets));
  copy.name = error.name;
  copy.stack = redactSecrets(error.stack ?? '', secrets);
  const source = error as Error & { status?: unknown; code?: unknown; type?: unknown };
  const target = copy as Error & { status?: unknown; code?: unknown; type?: unknown; cause?: unknown };
  if (typeof source.status === 'number') target.status = source.status;
  if (typeof source.code === 'string' || typeof source.code === 'number') target.code = source.code;
  if (typeof source.type === 'string') target.type = redactSecrets(source.type, secrets);
  if (error.cause !== undefined && depth < 5) target.cause = scrubError(error.cause, secrets, depth + 1);
  return copy;
}
