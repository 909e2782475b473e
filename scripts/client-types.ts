/**
 * `npm run client:types`: writes `src/client/openapi.ts`, the TypeScript types of the API's
 * OpenAPI document (openapi-typescript), which the console's client (`ui/src/api.ts`, openapi-fetch)
 * is typed with. The document comes from the route table as `/openapi.json` serves it, built
 * without listening or opening a store: the routes' schemas alone make it.
 *
 *   tsx scripts/client-types.ts           # writes src/client/openapi.ts
 *   tsx scripts/client-types.ts --check   # exits 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { pino } from 'pino';
import type { Engine } from '../src/engine/engine.js';
import { VERSION } from '../src/lib/version.js';
import { Metrics } from '../src/obs/metrics.js';
import { buildApp } from '../src/server/app.js';
import { authSettings } from '../src/server/auth.js';
import type { Store } from '../src/store/store.js';

const REPO = resolve(import.meta.dirname, '..');
export const CLIENT_TYPES_FILE = join(REPO, 'src/client/openapi.ts');

const HEADER = `/**
 * The Agentry API's paths, operations and schemas as TypeScript types, generated from its OpenAPI
 * document by openapi-typescript. Do not edit: \`npm run client:types\` writes it (a unit test fails
 * when it is stale).
 */
`;

/** The OpenAPI document `/openapi.json` serves (the version left out: it changes with every release, the types do not). */
export async function openapiDocument(): Promise<Record<string, unknown>> {
  // Building the routes reads neither the engine nor the store; they are used by handlers only.
  const metrics = new Metrics({ version: VERSION });
  const app = await buildApp({
    engine: { settings: { leaseTtlMs: 2000 }, tenant: 'default' } as unknown as Engine,
    store: {} as Store,
    metrics,
    logger: pino({ level: 'silent' }),
    version: '0',
    auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }),
    docs: false,
    eagerSchemas: false,
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    metrics.close();
  }
}

/** The file's text, as `npm run client:types` writes it. */
export async function clientTypes(): Promise<string> {
  const ast = await openapiTS(JSON.stringify(await openapiDocument()), { alphabetize: true });
  return HEADER + astToString(ast);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await clientTypes();
  if (process.argv.includes('--check')) {
    if (readFileSync(CLIENT_TYPES_FILE, 'utf8') !== text) {
      process.stderr.write(`${CLIENT_TYPES_FILE} is stale: run npm run client:types\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(CLIENT_TYPES_FILE, text);
  }
}
