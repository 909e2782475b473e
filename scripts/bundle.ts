/**
 * The bundled CLI (`npm run build` runs it after `tsc`): `src/cli/main.ts` and the spec
 * validation worker, with the dependencies that can be, bundled by esbuild into ESM files in
 * `dist/bundle/` — `agentry.js`, `spec-validation-worker.js` and the chunks they share or import
 * lazily (each command's module, the provider and MCP SDKs, the OpenTelemetry SDK's loader…).
 * `bin/agentry.js` runs it when it is there. One file instead of about a thousand modules: Node 20
 * has no compile cache, and loading the modules one by one was most of `agentry serve`'s start.
 *
 * Left outside the bundle (`EXTERNAL`), loaded from node_modules as before: packages that find
 * files next to their own code (a native addon, static assets, worker-thread scripts, `.proto`
 * files) or patch the module loader. The files keep their depth under the package (`dist/bundle/x.js`
 * like `dist/cli/main.js`), so `new URL('../../package.json', import.meta.url)` still finds it.
 * Source maps (without the sources) point to `src/`: stack traces name src/ files when source maps
 * are on (`bin/agentry.js` turns them on with AGENTRY_DEBUG=1; NODE_OPTIONS=--enable-source-maps).
 *
 *   tsx scripts/bundle.ts            # writes dist/bundle/
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { _ } from 'ajv';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { build, type Metafile, type Plugin } from 'esbuild';
import { ConfigSchema, newConfigAjv } from '../src/app/config-schema.js';
import type { SpecKind } from '../src/spec/schemas.js';
import { SPEC_SCHEMAS } from '../src/spec/schemas.js';
import { JSON_SCHEMA_META, newSpecAjv, newUserAjv } from '../src/spec/validate.js';

const standaloneCode = standaloneCodeModule as unknown as typeof standaloneCodeModule.default;

const REPO = resolve(import.meta.dirname, '..');
export const BUNDLE_DIR = join(REPO, 'dist/bundle');
/** What `bin/agentry.js` runs. */
export const BUNDLE_ENTRY = join(BUNDLE_DIR, 'agentry.js');

/** Packages (and everything they import) loaded from node_modules at run time, and why. */
export const EXTERNAL: Readonly<Record<string, string>> = {
  'better-sqlite3': 'a native addon, found through its own directory',
  'pg-native': "pg's optional native client, not installed",
  pino: 'its transports run in worker threads from files of its own (thread-stream)',
  '@opentelemetry/sdk-node': 'loads instrumentations by patching require and import; gRPC exporters read .proto files',
  '@opentelemetry/core': 'shared with the external OpenTelemetry SDK: one copy',
  '@opentelemetry/resources': 'shared with the external OpenTelemetry SDK: one copy',
  '@opentelemetry/sdk-trace-base': 'shared with the external OpenTelemetry SDK: one copy',
};

/**
 * CommonJS code bundled into ESM still calls `require` for Node's built-ins (and for what is
 * external); ESM has none, so each file gets one, made for its own location.
 */
const BANNER = "import { createRequire as __agentryCreateRequire } from 'node:module';\nconst require = __agentryCreateRequire(import.meta.url);";

/**
 * `src/server/fastify-compilers.ts` finds Fastify's default schema compilers at run time, from
 * fastify's directory; in the bundle they are static imports resolved from there at build time.
 */
const fastifyCompilers: Plugin = {
  name: 'fastify-compilers',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]server[\\/]fastify-compilers\.ts$/ }, () => ({
      loader: 'js',
      resolveDir: dirname(createRequire(import.meta.url).resolve('fastify')),
      contents: [
        "import validatorSelector from '@fastify/ajv-compiler';",
        "import serializerSelector from '@fastify/fast-json-stringify-compiler';",
        'export function fastifyCompilerSelectors() { return { validatorSelector, serializerSelector }; }',
      ].join('\n'),
    }));
  },
};

/**
 * Bundled packages that read files of their own directory through `__dirname`, which ESM has not:
 * each of their modules gets a `__dirname` and `__filename` pointing into the installed package,
 * found at run time through `require.resolve` (the package is a dependency, installed beside the
 * bundle; only its code is bundled). @fastify/swagger-ui serves its static files from there.
 */
const OWN_FILES = ['@fastify/swagger-ui'];

const ownFiles: Plugin = {
  name: 'own-files',
  setup(build) {
    for (const name of OWN_FILES) {
      const root = dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
      build.onLoad({ filter: new RegExp(`[\\\\/]node_modules[\\\\/]${name.replace('/', '[\\\\/]')}[\\\\/].*\\.c?js$`) }, (args) => {
        const within = relative(root, args.path).split(sep).join('/');
        const here = `require('node:path').join(require('node:path').dirname(require.resolve(${JSON.stringify(name)})), ${JSON.stringify(within)})`;
        return {
          loader: 'js',
          contents: `var __filename = ${here}, __dirname = require('node:path').dirname(__filename);\n${readFileSync(args.path, 'utf8')}`,
        };
      });
    }
  },
};

/**
 * undici's root module evaluates everything the package has (fetch, WebSocket, EventSource,
 * cookies, caches, mocks; its cookies module makes Node load its own bundled undici too). The
 * sources' `import … from 'undici'` get, in the bundle, the parts they name: `Agent`,
 * `buildConnector`, `interceptors.redirect` (required on first use) and the API methods every
 * dispatcher has (`agent.request`), loaded with the module; `fetch` and `request` load the root on
 * their first call. Loading `lib/global` keeps undici's `Agent` the global dispatcher from the
 * start, as importing the root did (the provider SDKs' `fetch` goes through it). A name the
 * sources import that is not here fails the build ("No matching export"). Other packages'
 * imports of undici keep the root.
 */
const UNDICI_PARTS = [
  "const Dispatcher = require('./lib/dispatcher/dispatcher');",
  "Object.assign(Dispatcher.prototype, require('./lib/api'));",
  "require('./lib/global');",
  "export const Agent = require('./lib/dispatcher/agent');",
  "export const buildConnector = require('./lib/core/connect');",
  // The interceptors the sources use (`http` steps follow redirects); add one here when a source uses another.
  "export const interceptors = { get redirect() { return require('./lib/interceptor/redirect'); } };",
  // The root is CommonJS: as a chunk of its own, its exports are the chunk's default export.
  "export const fetch = (...args) => import('undici').then(({ default: undici }) => undici.fetch(...args));",
  "export const request = (...args) => import('undici').then(({ default: undici }) => undici.request(...args));",
].join('\n');

const undiciParts: Plugin = {
  name: 'undici-parts',
  setup(build) {
    const sources = join(REPO, 'src') + sep;
    build.onResolve({ filter: /^undici$/ }, (args) => (args.importer.startsWith(sources) ? { path: 'undici', namespace: 'undici-parts' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'undici-parts' }, () => ({
      loader: 'js',
      resolveDir: dirname(createRequire(import.meta.url).resolve('undici/package.json')),
      contents: UNDICI_PARTS,
    }));
  },
};

/**
 * `src/lib/precompiled.ts` becomes a table of validators compiled now, with ajv's standalone code,
 * from the same schemas and ajv options the sources compile them with at run time: each spec
 * kind's, the JSON Schema meta-schema user-written schemas are checked against, and resolved
 * configuration's. Each is a module of its own (namespace `precompiled`).
 */
export function standaloneValidators(): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const kind of Object.keys(SPEC_SCHEMAS) as SpecKind[]) {
    const ajv = newSpecAjv({ source: true });
    sources[`spec:${kind}`] = standaloneCode(ajv, ajv.compile(SPEC_SCHEMAS[kind]));
  }
  const userAjv = newUserAjv({ source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` });
  sources['json-schema'] = standaloneCode(userAjv, userAjv.getSchema(JSON_SCHEMA_META));
  const configAjv = newConfigAjv({ source: true });
  sources.config = standaloneCode(configAjv, configAjv.compile(ConfigSchema));
  return sources;
}

const precompiledValidators: Plugin = {
  name: 'precompiled-validators',
  setup(build) {
    let sources: Record<string, string> | undefined;
    build.onLoad({ filter: /[\\/]src[\\/]lib[\\/]precompiled\.ts$/ }, () => {
      sources = standaloneValidators();
      const names = Object.keys(sources);
      return {
        loader: 'js',
        contents: [
          ...names.map((name, i) => `import v${i} from ${JSON.stringify(`precompiled:${name}`)};`),
          `const VALIDATORS = new Map([${names.map((name, i) => `[${JSON.stringify(name)}, v${i}]`).join(', ')}]);`,
          'export function precompiledValidator(name) { return VALIDATORS.get(name); }',
        ].join('\n'),
      };
    });
    build.onResolve({ filter: /^precompiled:/ }, (args) => ({ path: args.path.slice('precompiled:'.length), namespace: 'precompiled' }));
    build.onLoad({ filter: /.*/, namespace: 'precompiled' }, (args) => ({ loader: 'js', resolveDir: REPO, contents: sources?.[args.path] ?? '' }));
  },
};

/** Builds the bundle in a directory of its own, then puts it in place of the previous one. */
export async function bundle(): Promise<Metafile> {
  const building = `${BUNDLE_DIR}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: { agentry: 'src/cli/main.ts', 'spec-validation-worker': 'src/app/spec-validation-worker.ts' },
    outdir: building,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: Object.keys(EXTERNAL),
    banner: { js: BANNER },
    // Whitespace and syntax only: names stay as they are (stack traces, `constructor.name`). Less
    // source to parse and to keep in memory: about 13 % of the start-up CPU and 18 MB of RSS.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [fastifyCompilers, ownFiles, precompiledValidators, undiciParts],
  });
  const previous = `${BUNDLE_DIR}.${process.pid}.old`;
  if (existsSync(BUNDLE_DIR)) renameSync(BUNDLE_DIR, previous);
  renameSync(building, BUNDLE_DIR);
  rmSync(previous, { recursive: true, force: true });
  return result.metafile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await bundle();
