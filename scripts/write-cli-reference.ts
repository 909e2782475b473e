/** Writes docs/cli-reference.md from the CLI's command definitions (`npm run docs:cli`). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliReferenceMarkdown } from '../src/cli/reference.js';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'cli-reference.md'), await cliReferenceMarkdown());
