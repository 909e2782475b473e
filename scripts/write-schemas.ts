/** Writes docs/schemas/<kind>.schema.json from src/spec/schemas.ts, and agentry-plugin.schema.json from src/spec/plugin-manifest.ts (`npm run schemas`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pluginSchemaFileText } from '../src/spec/plugin-manifest.js';
import { schemaFileText, SPEC_KINDS } from '../src/spec/schemas.js';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const kind of SPEC_KINDS) {
  const file = path.join(outDir, `${kind}.schema.json`);
  writeFileSync(file, schemaFileText(kind));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
const pluginFile = path.join(outDir, 'agentry-plugin.schema.json');
writeFileSync(pluginFile, pluginSchemaFileText());
console.log(`wrote ${path.relative(process.cwd(), pluginFile)}`);
