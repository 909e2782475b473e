/** Validation of a rendered `http:` block into one request description. */
import { AgentryError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import type { ExecutorSettings } from './types.js';

export interface HttpRequestPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Statuses that count as success; undefined means any 2xx. */
  expectStatus: number[] | undefined;
  /** `save_body_as`: the run artifact the body is stored as (the output then describes it). */
  saveBodyAs: string | undefined;
}

const KEYS = new Set(['url', 'method', 'headers', 'query', 'body', 'timeout', 'max_response_bytes', 'expect_status', 'save_body_as']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Scheme, host and path only: user info and query strings may carry credentials. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** `artifactMaxBytes`: the body limit of a step that saves its body as an artifact and sets no `max_response_bytes`. */
export function planHttpRequest(config: unknown, settings: ExecutorSettings['http'], artifactMaxBytes?: number): HttpRequestPlan {
  if (!isRecord(config)) throw invalid('http step config must be an object with a url');
  for (const key of Object.keys(config)) if (!KEYS.has(key)) throw invalid(`http step config has unknown field "${key}"`);

  const url = parseUrl(config.url);
  appendQuery(url, config.query);
  const headers = readHeaders(config.headers);
  const body = encodeBody(config.body, headers);
  const method = readMethod(config.method, body !== undefined);
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw invalid(`http ${method} request cannot have a body`);

  const saveBodyAs = config.save_body_as;
  if (saveBodyAs !== undefined && (typeof saveBodyAs !== 'string' || saveBodyAs.trim() === '')) {
    throw invalid(`http save_body_as must be an artifact name, got ${describe(saveBodyAs)}`);
  }
  const bodyLimit = saveBodyAs !== undefined && artifactMaxBytes !== undefined ? artifactMaxBytes : settings.maxResponseBytes;
  return {
    url,
    method,
    headers,
    body,
    timeoutMs: readTimeout(config.timeout, settings.defaultTimeoutMs),
    maxResponseBytes: readPositiveInt(config.max_response_bytes, 'max_response_bytes') ?? bodyLimit,
    expectStatus: readExpectStatus(config.expect_status),
    saveBodyAs,
  };
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string') throw invalid(`http url must be a string, got ${describe(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new AgentryError('invalid_request', 'http url is not a valid absolute URL', { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`http url scheme "${url.protocol.slice(0, -1)}" is not allowed; use http or https`);
  }
  return url;
}

function appendQuery(url: URL, query: unknown): void {
  if (query === undefined || query === null) return;
  if (!isRecord(query)) throw invalid('http query must be an object');
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      if (!isScalar(item)) throw invalid(`http query parameter "${name}" must be a string, number or boolean (or a list of them)`);
      url.searchParams.append(name, String(item));
    }
  }
}

function readHeaders(value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (value === undefined || value === null) return headers;
  if (!isRecord(value)) throw invalid('http headers must be an object');
  for (const [name, raw] of Object.entries(value)) {
    if (raw === undefined || raw === null) continue;
    if (!TOKEN.test(name)) throw invalid(`http header name "${name}" is not a valid token`);
    // Messages name the header only: values may be secrets (Authorization, cookies, API keys).
    if (!isScalar(raw)) throw invalid(`http header "${name}" must be a string, number or boolean`);
    const text = String(raw);
    if (/[\r\n\0]/.test(text)) throw invalid(`http header "${name}" contains a line break or NUL`);
    headers[name.toLowerCase()] = text;
  }
  return headers;
}

/** Strings are sent as text; anything else as JSON. Sets content-type unless the step did. */
function encodeBody(value: unknown, headers: Record<string, string>): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return value;
  }
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(value);
}

function readMethod(value: unknown, hasBody: boolean): string {
  if (value === undefined || value === null) return hasBody ? 'POST' : 'GET';
  if (typeof value !== 'string' || !TOKEN.test(value)) throw invalid(`http method must be a token like GET or POST, got ${describe(value)}`);
  return value.toUpperCase();
}

function readTimeout(value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const ms = typeof value === 'string' || typeof value === 'number' ? safeDuration(value) : undefined;
  if (ms === undefined || ms <= 0) throw invalid(`http timeout ${JSON.stringify(value)} is not a positive duration like "10s"`);
  return ms;
}

function safeDuration(value: string | number): number | undefined {
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

function readPositiveInt(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw invalid(`http ${field} must be a positive integer`);
  return value;
}

function readExpectStatus(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const ok = Array.isArray(value) && value.length > 0 && value.every((s) => Number.isInteger(s) && (s as number) >= 100 && (s as number) <= 599);
  if (!ok) throw invalid('http expect_status must be a non-empty list of status codes (100-599)');
  return value as number[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function invalid(message: string): AgentryError {
  return new AgentryError('invalid_request', message);
}
