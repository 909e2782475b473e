/**
 * deploy/compose.yaml as Compose reads it: YAML merge keys (`<<: *anchor`) resolved, `${VAR}`,
 * `${VAR:-default}` and `${VAR-default}` interpolated from the given variables, and each
 * service's environment, dependencies, secrets, volumes and ports in one shape, so that tests
 * can check it and start its processes without Docker.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export const COMPOSE_FILE = resolve(import.meta.dirname, '../../deploy/compose.yaml');

export type DependsCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ComposeService {
  name: string;
  image?: string;
  command: string[];
  environment: Record<string, string>;
  dependsOn: Record<string, DependsCondition>;
  /** Secret names mounted at /run/secrets/<name>. */
  secrets: string[];
  /** `host:container[:mode]` bind mounts (host side resolved against the compose file's folder) and named volumes. */
  volumes: Array<{ source: string; target: string; readOnly: boolean }>;
  /** Published ports: `[host address:]host port:container port`. */
  ports: Array<{ host: string; container: number }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string };
  restart?: string;
  stopGracePeriod?: string;
  raw: Record<string, unknown>;
}

export interface ComposeModel {
  dir: string;
  services: Record<string, ComposeService>;
  /** Top-level secrets: name → file (absolute). */
  secrets: Record<string, string>;
  /** Every variable the file interpolates, with its default (undefined: none). */
  variables: Map<string, string | undefined>;
  raw: Record<string, unknown>;
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** A string with its variables replaced as Compose does; records each variable met in `seen`. */
function interpolate(text: string, vars: Record<string, string | undefined>, seen: Map<string, string | undefined>): string {
  return text.replace(VARIABLE, (match, braced: string | undefined, op: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    if (!seen.has(name) || seen.get(name) === undefined) seen.set(name, fallback);
    const value = vars[name];
    if (op === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
    if (op === '-') return value === undefined ? (fallback ?? '') : value;
    return value ?? '';
  });
}

function interpolateAll(value: unknown, vars: Record<string, string | undefined>, seen: Map<string, string | undefined>): unknown {
  if (typeof value === 'string') return interpolate(value, vars, seen);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, vars, seen));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, vars, seen)]));
  }
  return value;
}

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
/** A scalar as Compose writes it (`10s`, `3`, `true`); anything else as its JSON. */
const text = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

function environment(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map(String).map((entry) => [entry.split('=')[0] ?? '', entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(asRecord(value)).map(([key, item]) => [key, item === null ? '' : text(item)]));
}

function dependsOn(value: unknown): Record<string, DependsCondition> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((name) => [String(name), 'service_started' as const]));
  return Object.fromEntries(
    Object.entries(asRecord(value)).map(([name, spec]) => [name, (asRecord(spec).condition as DependsCondition | undefined) ?? 'service_started']),
  );
}

function service(name: string, raw: Record<string, unknown>, dir: string): ComposeService {
  const command = raw.command;
  const health = asRecord(raw.healthcheck);
  return {
    name,
    ...(typeof raw.image === 'string' ? { image: raw.image } : {}),
    command: Array.isArray(command) ? command.map(String) : typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : [],
    environment: environment(raw.environment),
    dependsOn: dependsOn(raw.depends_on),
    secrets: asList(raw.secrets).map((entry) => (typeof entry === 'string' ? entry : String(asRecord(entry).source))),
    volumes: asList(raw.volumes).map((entry) => {
      const [source = '', target = '', mode] = String(entry).split(':');
      const bind = source.startsWith('.') || source.startsWith('/');
      return { source: bind ? resolve(dir, source) : source, target, readOnly: mode === 'ro' };
    }),
    ports: asList(raw.ports).map((entry) => {
      const parts = String(entry).split(':');
      return { host: parts.slice(0, -1).join(':'), container: Number.parseInt(parts.at(-1) ?? '', 10) };
    }),
    ...(raw.healthcheck === undefined
      ? {}
      : {
          healthcheck: {
            test: asList(health.test).map(String),
            ...(health.interval === undefined ? {} : { interval: text(health.interval) }),
            ...(health.timeout === undefined ? {} : { timeout: text(health.timeout) }),
            ...(health.retries === undefined ? {} : { retries: Number(health.retries) }),
            ...(health.start_period === undefined ? {} : { startPeriod: text(health.start_period) }),
          },
        }),
    ...(typeof raw.restart === 'string' ? { restart: raw.restart } : {}),
    ...(raw.stop_grace_period === undefined ? {} : { stopGracePeriod: text(raw.stop_grace_period) }),
    raw,
  };
}

/** Reads a compose file; `vars` stand for the shell environment and `.env` (unset: each default applies). */
export function loadCompose(file = COMPOSE_FILE, vars: Record<string, string | undefined> = {}): ComposeModel {
  const dir = dirname(file);
  const parsed = asRecord(parse(readFileSync(file, 'utf8'), { merge: true, maxAliasCount: -1 }));
  const variables = new Map<string, string | undefined>();
  const raw = asRecord(interpolateAll(parsed, vars, variables));
  const services = Object.fromEntries(Object.entries(asRecord(raw.services)).map(([name, spec]) => [name, service(name, asRecord(spec), dir)]));
  const secrets = Object.fromEntries(Object.entries(asRecord(raw.secrets)).map(([name, spec]) => [name, resolve(dir, String(asRecord(spec).file))]));
  return { dir, services, secrets, variables, raw };
}

/** `KEY=value` lines of an env file (comments and blank lines skipped). */
export function readEnvFile(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) vars[match[1] as string] = (match[2] as string).trim();
  }
  return vars;
}

/** Services in an order that starts each after the ones it depends on. */
export function startOrder(model: ComposeModel): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]): void => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' → ')}`);
    const svc = model.services[name];
    if (!svc) throw new Error(`unknown service ${name} (depended on by ${path.at(-1) ?? '?'})`);
    for (const dep of Object.keys(svc.dependsOn)) visit(dep, [...path, name]);
    order.push(name);
  };
  for (const name of Object.keys(model.services)) visit(name, []);
  return order;
}

/**
 * The `ENV` of a Dockerfile's last stage (the image the services run), `{}` without the file:
 * the environment a container starts from, under what compose sets.
 */
export function imageEnvironment(dockerfile: string): Record<string, string> {
  if (!existsSync(dockerfile)) return {};
  const lines = readFileSync(dockerfile, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim());
  const stage = lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
  const env: Record<string, string> = {};
  for (const line of stage) {
    const match = /^ENV\s+(.*)$/i.exec(line);
    if (!match) continue;
    for (const pair of (match[1] as string).match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}
