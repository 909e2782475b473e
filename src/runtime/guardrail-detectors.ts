/**
 * The PII detectors of the `pii` guardrail, as pure functions over text: email, phone, credit
 * card (Luhn-checked), IBAN (mod-97-checked) and US SSN. Each finding is a span; where two
 * detectors claim the same characters, the more specific one wins (card, IBAN, SSN, email, then
 * phone), so a card number is not also reported as a phone number.
 */
import type { PiiDetector } from '../spec/guardrails.js';

export interface Finding {
  detector: PiiDetector;
  start: number;
  end: number;
}

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ISO 13616 check: country letters, two check digits, then the BBAN; valid when the number mod 97 is 1. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

type Scan = (text: string) => { start: number; end: number }[];

function matches(pattern: RegExp, accept: (match: string) => boolean = () => true): Scan {
  return (text) => {
    const found: { start: number; end: number }[] = [];
    for (const m of text.matchAll(pattern)) if (accept(m[0])) found.push({ start: m.index, end: m.index + m[0].length });
    return found;
  };
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/** In the order they claim text: an earlier detector's span is not reported again by a later one. */
const DETECTORS: readonly [PiiDetector, Scan][] = [
  ['credit_card', matches(/(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, (m) => luhnValid(digitsOf(m)))],
  ['iban', matches(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, ibanValid)],
  ['us_ssn', matches(/(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g)],
  ['email', matches(/[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}/g)],
  [
    'phone',
    matches(/(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])/g, (m) => {
      const n = digitsOf(m).length;
      // A bare run of digits is a number, not a phone number: ask for a separator or a leading +.
      return n >= 7 && n <= 15 && /[ .()+-]/.test(m);
    }),
  ],
];

/** The PII in `text` found by `detectors` (all when undefined), in text order, without overlaps. */
export function detectPii(text: string, detectors?: readonly PiiDetector[]): Finding[] {
  const wanted = new Set(detectors ?? DETECTORS.map(([name]) => name));
  const findings: Finding[] = [];
  const overlaps = (start: number, end: number): boolean => findings.some((f) => start < f.end && f.start < end);
  for (const [detector, scan] of DETECTORS) {
    if (!wanted.has(detector)) continue;
    for (const span of scan(text)) if (!overlaps(span.start, span.end)) findings.push({ detector, ...span });
  }
  return findings.sort((a, b) => a.start - b.start);
}

/** `text` with each span replaced by `[REDACTED:<label>]`. Spans must not overlap. */
export function maskSpans(text: string, spans: readonly { start: number; end: number; label: string }[]): string {
  let out = '';
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, span.start) + `[REDACTED:${span.label}]`;
    at = span.end;
  }
  return out + text.slice(at);
}
