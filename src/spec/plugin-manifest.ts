/**
 * The plugin manifest: what a plugin adds (step kinds, tools, routes under
 * `/v1/plugins/{name}/…`) and the permissions it needs (network hosts, filesystem paths, env
 * vars, child processes), with the isolation mode it runs in. Read from `agentry-plugin.json`
 * or the `agentry` field of `package.json` (name and version default to the package's);
 * published as `docs/schemas/agentry-plugin.schema.json` by `scripts/write-schemas.ts`.
 * Every problem names the file and the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from 'typebox';
import { AgentryError } from '../lib/errors.js';
import { formatPath, type Problem } from './diagnostics.js';
import { ENV_NAME_PATTERN, NAME_PATTERN } from './schemas.js';
import { checkJsonSchema, newSpecAjv, pointerToPath } from './validate.js';

const closed = { additionalProperties: false } as const;
const opt = Type.Optional;

/** A plugin's name: also its segment in `/v1/plugins/{name}/…` and its tools' prefix. */
export const PLUGIN_NAME_PATTERN = NAME_PATTERN;
const SEMVER_PATTERN = '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$';
/** A host name or `*.example.com`, optionally with `:port`. */
const HOST_PATTERN = '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\\d{1,5})?$';
const ROUTE_PATH_PATTERN = '^/[A-Za-z0-9_./:-]*$';

const JsonSchemaObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'A JSON Schema (draft-07).' });

export const PLUGIN_MODES = ['in-process', 'process'] as const;
export type PluginMode = (typeof PLUGIN_MODES)[number];

const StepKindSchema = Type.Object(
  {
    kind: Type.String({ pattern: NAME_PATTERN, description: 'The step kind, used in a workflow as `plugin: { name: <plugin>, step: <kind> }`.' }),
    description: opt(Type.String()),
    config: JsonSchemaObject,
  },
  closed,
);

const ToolSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN, description: 'The tool name; agents see it as `<plugin>.<name>`.' }),
    description: opt(Type.String()),
    input: JsonSchemaObject,
  },
  closed,
);

const RouteSchema = Type.Object(
  {
    method: Type.Union([Type.Literal('GET'), Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('DELETE'), Type.Literal('PATCH')], {
      errorMessage: 'must be one of GET, POST, PUT, DELETE, PATCH',
    }),
    path: Type.String({
      pattern: ROUTE_PATH_PATTERN,
      description: 'Below `/v1/plugins/{name}`, e.g. `/forecast`.',
      errorMessage: 'must start with / and hold only letters, digits and _ . / : -',
    }),
    description: opt(Type.String()),
  },
  closed,
);

const PermissionsSchema = Type.Object(
  {
    network: opt(
      Type.Object(
        {
          hosts: Type.Array(Type.String({ pattern: HOST_PATTERN, errorMessage: 'must be a host name, *.domain, optionally with :port' }), {
            uniqueItems: true,
          }),
        },
        closed,
      ),
    ),
    fs: opt(
      Type.Object(
        {
          read: opt(
            Type.Array(Type.String({ minLength: 1 }), {
              uniqueItems: true,
              description: 'Paths it may read: absolute, relative to the project directory, or `${data}` (its own data directory).',
            }),
          ),
          write: opt(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Paths it may write (and read).' })),
        },
        closed,
      ),
    ),
    env: opt(Type.Array(Type.String({ pattern: ENV_NAME_PATTERN, errorMessage: 'must be an environment variable name (A-Z, 0-9, _)' }), { uniqueItems: true })),
    childProcess: opt(Type.Boolean({ description: 'It may start child processes (and workers). Default false.' })),
  },
  { ...closed, description: 'Everything the plugin may reach: anything not declared is refused.' },
);

export const PluginManifestSchema = Type.Object(
  {
    $schema: opt(Type.String({ description: 'The schema this file follows (for editors); ignored.' })),
    name: Type.String({ pattern: PLUGIN_NAME_PATTERN, errorMessage: 'must be lowercase letters, digits, - and _, starting with a letter' }),
    version: Type.String({ pattern: SEMVER_PATTERN, errorMessage: 'must be an exact semantic version such as 1.2.3' }),
    description: opt(Type.String()),
    main: opt(Type.String({ description: "The ES module the plugin runs (default: the package's `main`, else `index.js`)." })),
    mode: opt(Type.Union([Type.Literal('in-process'), Type.Literal('process')], { errorMessage: "must be 'in-process' or 'process'" })),
    changelog: opt(Type.String({ description: 'Where its changes are described (shown by `agentry plugins update`).' })),
    adds: Type.Object(
      {
        steps: opt(Type.Array(StepKindSchema)),
        tools: opt(Type.Array(ToolSchema)),
        routes: opt(Type.Array(RouteSchema)),
      },
      closed,
    ),
    permissions: PermissionsSchema,
  },
  { ...closed, $id: 'https://agentry.dev/schemas/agentry-plugin.schema.json', title: 'Agentry plugin manifest' },
);

export type PluginManifest = Static<typeof PluginManifestSchema>;

export const MANIFEST_FILE = 'agentry-plugin.json';

/** The schema file `scripts/write-schemas.ts` publishes. */
export function pluginSchemaFileText(): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...PluginManifestSchema }, null, 2)}\n`;
}

let validator: ReturnType<ReturnType<typeof newSpecAjv>['compile']> | undefined;

/** Every problem of `data` as a manifest (schema, then duplicate names and the JSON Schemas it holds). */
export function manifestProblems(data: unknown): Problem[] {
  validator ??= newSpecAjv().compile(PluginManifestSchema);
  if (!validator(data)) {
    return (validator.errors ?? []).map((e) => {
      const params = e.params as Record<string, unknown>;
      const at = pointerToPath(e.instancePath, data);
      if (e.keyword === 'additionalProperties') return { path: [...at, String(params['additionalProperty'])], message: 'unknown field' };
      if (e.keyword === 'required') return { path: [...at, String(params['missingProperty'])], message: 'missing required field' };
      const custom = (e.parentSchema as { errorMessage?: unknown } | undefined)?.errorMessage;
      return { path: at, message: typeof custom === 'string' ? custom : (e.message ?? e.keyword) };
    });
  }
  const manifest = data as PluginManifest;
  const problems: Problem[] = [];
  const unique = (list: ReadonlyArray<{ key: string }>, field: string) => {
    const seen = new Set<string>();
    list.forEach(({ key }, i) => {
      if (seen.has(key)) problems.push({ path: ['adds', field, i], message: `duplicate '${key}'` });
      seen.add(key);
    });
  };
  unique(
    (manifest.adds.steps ?? []).map((s) => ({ key: s.kind })),
    'steps',
  );
  unique(
    (manifest.adds.tools ?? []).map((t) => ({ key: t.name })),
    'tools',
  );
  unique(
    (manifest.adds.routes ?? []).map((r) => ({ key: `${r.method} ${r.path}` })),
    'routes',
  );
  (manifest.adds.steps ?? []).forEach((s, i) => problems.push(...checkJsonSchema(s.config, ['adds', 'steps', i, 'config'])));
  (manifest.adds.tools ?? []).forEach((t, i) => problems.push(...checkJsonSchema(t.input, ['adds', 'tools', i, 'input'])));
  return problems;
}

/** Where a manifest was read from, and the manifest. */
export interface LoadedManifest {
  manifest: PluginManifest;
  /** The file it came from (`agentry-plugin.json` or `package.json`). */
  file: string;
  /** The plugin's directory. */
  dir: string;
  /** The module to load, absolute. */
  entry: string;
  /** The npm package name, when there is a package.json. */
  packageName: string | undefined;
}

function manifestError(file: string, problems: Problem[], prefix: (string | number)[] = []): AgentryError {
  const lines = problems.map((p) => {
    const field = formatPath([...prefix, ...p.path]);
    return `${file}${field === '' ? '' : ` ${field}`}: ${p.message}`;
  });
  return new AgentryError('plugin_invalid', lines.length === 1 ? lines[0]! : `${lines[0]!} (and ${lines.length - 1} more)`, {
    details: { file, problems: problems.map((p) => ({ field: formatPath([...prefix, ...p.path]), message: p.message })) },
  });
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentryError('plugin_invalid', `${file}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AgentryError('plugin_invalid', `${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Reads and validates the manifest of the plugin in `dir`; throws `plugin_invalid` naming the file and field. */
export function loadManifest(dir: string): LoadedManifest {
  const pkgFile = path.join(dir, 'package.json');
  const pkg = existsSync(pkgFile) ? (readJson(pkgFile) as Record<string, unknown>) : undefined;
  const packageName = typeof pkg?.['name'] === 'string' ? pkg['name'] : undefined;
  const ownFile = path.join(dir, MANIFEST_FILE);
  let file: string;
  let data: unknown;
  let prefix: string[] = [];
  if (existsSync(ownFile)) {
    file = ownFile;
    data = readJson(ownFile);
  } else if (pkg !== undefined && pkg['agentry'] !== undefined) {
    file = pkgFile;
    prefix = ['agentry'];
    const field = pkg['agentry'];
    data = field !== null && typeof field === 'object' && !Array.isArray(field) ? { version: pkg['version'], ...field } : field;
  } else {
    throw new AgentryError('plugin_invalid', `${dir}: no ${MANIFEST_FILE} and no "agentry" field in package.json: not an Agentry plugin`);
  }
  const problems = manifestProblems(data);
  if (problems.length > 0) throw manifestError(file, problems, prefix);
  const manifest = data as PluginManifest;
  if (pkg !== undefined && typeof pkg['version'] === 'string' && pkg['version'] !== manifest.version) {
    throw manifestError(file, [{ path: ['version'], message: `is ${manifest.version} but package.json says ${pkg['version']}` }], prefix);
  }
  const main = manifest.main ?? (typeof pkg?.['main'] === 'string' ? pkg['main'] : 'index.js');
  const entry = path.resolve(dir, main);
  if (!entry.startsWith(path.resolve(dir) + path.sep)) throw manifestError(file, [{ path: ['main'], message: 'must be inside the plugin directory' }], prefix);
  if (!existsSync(entry)) throw manifestError(file, [{ path: ['main'], message: `${main} does not exist` }], prefix);
  return { manifest, file, dir: path.resolve(dir), entry, packageName };
}
