/**
 * The MCP fixture server (`test/fixtures/mcp/server.ts`) compiled by the global setup
 * (`build-dist.ts`), and the arguments that start it over stdio: a spawned server starts in a
 * fraction of the time `--import tsx` takes to compile the TypeScript.
 */
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');
export const MCP_FIXTURE_SOURCE = join(REPO, 'test/fixtures/mcp/server.ts');
export const MCP_FIXTURE_COMPILED = join(REPO, 'test/.build/mcp-server.mjs');
export const MCP_FIXTURE_STDIO = [MCP_FIXTURE_COMPILED, '--stdio'];
