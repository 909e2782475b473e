/** Rewrites the options table of docs/configuration.md from CONFIG_OPTIONS (`npm run docs:config`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configTableMarkdown } from '../src/app/config-options.js';

const file = join(import.meta.dirname, '..', 'docs', 'configuration.md');
const lines = readFileSync(file, 'utf8').split('\n');
const start = lines.findIndex((line) => line.startsWith('| Option |'));
let end = start;
while (end < lines.length && lines[end]!.startsWith('|')) end++;
if (start < 0) throw new Error('no options table in docs/configuration.md');
lines.splice(start, end - start, ...configTableMarkdown().split('\n'));
writeFileSync(file, lines.join('\n'));
