/**
 * The reference MCP server `@modelcontextprotocol/server-everything` (a pinned devDependency):
 * its tool spec over stdio, and the server over Streamable HTTP in a child process on a free
 * loopback port (`node dist/index.js streamableHttp`, port from `PORT`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ToolSpec } from '../../src/spec/schemas.js';
import { freePort } from './pg-processes.js';

const require = createRequire(import.meta.url);
/** The server's CLI: `node <entry> stdio|streamableHttp`. */
export const EVERYTHING_ENTRY = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');

export function everythingStdio(name: string): ToolSpec {
  return { name, command: process.execPath, args: [EVERYTHING_ENTRY, 'stdio'] };
}

export interface EverythingHttp {
  /** The MCP endpoint (`http://127.0.0.1:<port>/mcp`). */
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts the server over Streamable HTTP; a port taken in between is tried again with another. */
export async function startEverythingHttp(): Promise<EverythingHttp> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [EVERYTHING_ENTRY, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const started = await new Promise<boolean>((resolve) => {
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        lastError = stderr;
        if (stderr.includes('listening on port')) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    if (started) {
      return {
        url: `http://127.0.0.1:${port}/mcp`,
        child,
        async close() {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
  }
  throw new Error(`server-everything did not start over Streamable HTTP: ${lastError}`);
}
