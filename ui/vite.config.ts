/**
 * The web console's build (`npm run build:ui`, part of `npm run build`): `ui/` into `dist/ui/`,
 * assets named by their content hash, paths relative to the `<base href>` the server puts into
 * `index.html` (src/server/console.ts). The build reports the gzipped size of the JavaScript the
 * first page loads and fails when it passes `INITIAL_JS_LIMIT`.
 *
 * `npm run dev:ui` serves it with hot reload and proxies the API (`/v1`, `/openapi.json`) to
 * `AGENTRY_URL` (default http://127.0.0.1:7700, `agentry serve`'s address).
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** The most JavaScript, gzipped, the first page may load. */
const INITIAL_JS_LIMIT = 300 * 1024;

/** Sums the entry chunk and what it imports statically; fails the build over the limit. */
function initialJsBudget(): Plugin {
  return {
    name: 'agentry-initial-js-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = new Map(Object.values(bundle).flatMap((file) => (file.type === 'chunk' ? [[file.fileName, file] as const] : [])));
      const initial = new Set<string>();
      const visit = (name: string): void => {
        const chunk = chunks.get(name);
        if (chunk === undefined || initial.has(name)) return;
        initial.add(name);
        for (const imported of chunk.imports) visit(imported);
      };
      for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName);
      const bytes = [...initial].reduce((sum, name) => sum + gzipSync(chunks.get(name)!.code).length, 0);
      const kb = (bytes / 1024).toFixed(1);
      // stderr: `npm pack --json` runs the build and prints its JSON on stdout.
      process.stderr.write(`console: initial JavaScript ${kb} KB gzipped (limit ${INITIAL_JS_LIMIT / 1024} KB)\n`);
      if (bytes > INITIAL_JS_LIMIT) this.error(`initial JavaScript is ${kb} KB gzipped, over the ${INITIAL_JS_LIMIT / 1024} KB limit`);
    },
  };
}

const target = process.env.AGENTRY_URL ?? 'http://127.0.0.1:7700';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react(), initialJsBudget()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline scripts or data: URLs for assets: the page's CSP allows files from the origin only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    port: 5173,
    proxy: { '/v1': { target, changeOrigin: true }, '/openapi.json': { target, changeOrigin: true } },
  },
});
