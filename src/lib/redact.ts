/**
 * Masking of credentials and other sensitive text. One `Redactor` holds everything Agentry
 * knows is secret (env secrets, provider keys, API keys, URL passwords) and the rules for
 * what looks secret (URL passwords, token query parameters, optional PII shapes); the engine
 * runs what it stores through it and every way out (API answers, event streams, logs,
 * problem+json errors, `/metrics`) runs what it shows through it.
 */

export const REDACTED = '[redacted]';

/** Optional patterns masked even when they are not a known value (`AGENTRY_REDACT_PII`). */
export const PII_PATTERNS = ['email', 'card', 'ssn', 'bearer'] as const;
export type PiiPattern = (typeof PII_PATTERNS)[number];

/** Known values shorter than this are not matched (too many false positives). */
export const MIN_SECRET_LENGTH = 6;

/**
 * `//user:password@` in a URL. Neither part may hold `"`, `\`, braces, brackets or `<>` (never
 * legal unencoded in a URL's user info): without that rule the match could run from a `//x:` in
 * one JSON string to an `@` in another and break the document it masks.
 */
const URL_PASSWORD = /(\/\/[^:/@\s"\\{}[\]<>]*:)[^@/\s"\\{}[\]<>]*@/g;
const SECRET_QUERY = /([?&](?:password|passwd|pwd|token|access_token|secret|api_?key|access_key|sslpassword|sig|signature|key)=)[^&\s"'#]*/gi;
/** Query parameters whose values are credentials (also learnt as known values from a configured URL). */
const SECRET_QUERY_NAME = /^(?:password|passwd|pwd|token|access_token|secret|api_?key|access_key|sslpassword|sig|signature|key)$/i;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13–19 digits, optionally grouped by spaces or dashes, that pass the Luhn check. */
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
/**
 * US social-security numbers written `123-45-6789`, not part of a longer run of digits and dashes,
 * without the numbers never issued: area 000, 666 or 900–999, group 00, serial 0000.
 */
const SSN = /(?<!\d-?)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!-?\d)/g;
/** Prefixed provider keys (sk-…, sk-ant-…), Authorization values and `api_key=`-style pairs. */
const KEY_SHAPES = {
  prefixed: /\bsk-[A-Za-z0-9_*.-]{8,}/g,
  scheme: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]{6,}/gi,
  pair: /\b(x-api-key|api[_-]?key|apikey|authorization)(["']?\s*[:=]\s*["']?)[^\s"',}]{4,}/gi,
};

/** Hides passwords in URLs and values of secret-looking query parameters. */
export function maskSecrets(text: string): string {
  // Each rule needs a literal its text would have to hold (`//`, `=`): a scan for it is much cheaper than the regex's.
  let out = text.includes('//') ? text.replace(URL_PASSWORD, '$1***@') : text;
  if (out.includes('=')) out = out.replace(SECRET_QUERY, '$1***');
  return out;
}

/**
 * The credentials a URL carries (its password and the values of secret query parameters), to be
 * added to a redactor's known values. Not the user name: often a common word (`postgres`) that
 * masking everywhere would garble.
 */
export function urlCredentials(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const found: string[] = [];
  if (parsed.password !== '') found.push(decodeURIComponent(parsed.password));
  for (const [name, value] of parsed.searchParams) if (SECRET_QUERY_NAME.test(name) && value !== '') found.push(value);
  return found;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * The pieces of base64 text that encode `secret` wherever it sits in the encoded bytes: the
 * encoding of the value alone, and the characters that depend only on its bytes when 1 or 2
 * bytes come before it (as in `Basic base64(user:password)`). Standard and URL alphabets.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const whole = offset === 0 ? encoded.replace(/=+$/, '') : encoded.slice(start, end);
    const piece = offset === 0 && bytes.length % 3 !== 0 ? whole.slice(0, end) : whole;
    forms.push(piece);
    if (offset === 0) forms.push(whole);
  }
  return forms.flatMap((f) => [f, f.replace(/\+/g, '-').replace(/\//g, '_')]);
}

/** The ways a known value can appear in text: as is, URL-encoded, JSON-escaped, base64. */
function formsOf(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret), encodeURI(secret), encodeURIComponent(secret).replace(/%20/g, '+'), JSON.stringify(secret).slice(1, -1)];
  forms.push(...base64Forms(secret));
  return forms.filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** How deep `value` walks objects before masking the rest as JSON text. */
const MAX_WALK_DEPTH = 64;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface RedactorOptions {
  /** Values that must never be shown (env secrets, provider keys, API keys…). */
  secrets?: Iterable<string | undefined>;
  /** Patterns masked besides the known values and URL credentials. */
  pii?: readonly PiiPattern[];
}

/**
 * Masks known secret values (in their plain, URL-encoded, JSON-escaped and base64 forms),
 * URL passwords, secret query parameters and the chosen PII patterns. Values learnt later
 * (a project's secrets, once it is loaded) are added with `add`; whoever holds the redactor
 * sees them from then on.
 */
export class Redactor {
  readonly pii: readonly PiiPattern[];
  private readonly known = new Set<string>();
  private matcher: RegExp | undefined;

  constructor(options: RedactorOptions = {}) {
    this.pii = [...new Set(options.pii ?? [])];
    this.add(options.secrets ?? []);
  }

  /** Adds known secret values (blank and too-short ones are ignored). */
  add(values: Iterable<string | undefined>): this {
    let changed = false;
    for (const value of values) {
      if (value === undefined || value.trim().length < MIN_SECRET_LENGTH || this.known.has(value)) continue;
      this.known.add(value);
      changed = true;
    }
    if (changed) {
      const forms = [...new Set([...this.known].flatMap(formsOf))].sort((a, b) => b.length - a.length);
      this.matcher = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
    }
    return this;
  }

  /** How many known values it masks. */
  get size(): number {
    return this.known.size;
  }

  /** `text` with every known value, URL credential and chosen pattern masked. */
  text(text: string): string {
    let out = this.matcher ? text.replace(this.matcher, REDACTED) : text;
    out = maskSecrets(out);
    if (this.pii.includes('bearer')) {
      if (out.includes('sk-')) out = out.replace(KEY_SHAPES.prefixed, REDACTED);
      out = out
        .replace(KEY_SHAPES.scheme, (_m, scheme: string) => `${scheme} ${REDACTED}`)
        .replace(KEY_SHAPES.pair, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`);
    }
    if (this.pii.includes('email')) out = out.replace(EMAIL, REDACTED);
    if (this.pii.includes('ssn')) out = out.replace(SSN, REDACTED);
    if (this.pii.includes('card')) out = out.replace(CARD, (m) => (luhn(m.replace(/\D/g, '')) ? REDACTED : m));
    return out;
  }

  /** A copy of a JSON-like value with every string in it (keys included) passed through `text`. */
  value<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_WALK_DEPTH) return this.deep(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[this.text(k)] = this.walk(v, depth + 1);
    return out;
  }

  /**
   * A value nested deeper than the walk goes (an executor's output can be): its JSON text is
   * masked instead, which is safe because no rule matches across a string's quotes. A value
   * that cannot round-trip through JSON is withheld whole rather than passed on unmasked.
   */
  private deep(value: object): unknown {
    try {
      return JSON.parse(this.text(JSON.stringify(value))) as unknown;
    } catch {
      return REDACTED;
    }
  }
}

/** Parses `AGENTRY_REDACT_PII` (`email,card,ssn,bearer`, or `none`); unknown names are returned in `unknown`. */
export function parsePiiPatterns(text: string): { patterns: PiiPattern[]; unknown: string[] } {
  const names = text
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '' && n !== 'none');
  const isPattern = (n: string): n is PiiPattern => (PII_PATTERNS as readonly string[]).includes(n);
  return { patterns: names.filter(isPattern), unknown: names.filter((n) => !isPattern(n)) };
}
