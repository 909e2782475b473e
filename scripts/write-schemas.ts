/** Writes docs/schemas/<kind>.schema.json from src/spec/schemas.ts (`npm run schemas`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFileText, SPEC_KINDS } from '../src/spec/schemas.js';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const kind of SPEC_KINDS) {
  const file = path.join(outDir, `${kind}.schema.json`);
  writeFileSync(file, schemaFileText(kind));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
