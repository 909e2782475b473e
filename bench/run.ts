/**
 * `npm run bench [-- <scenario>…]`: runs the scenario files in `bench/scenarios/` (all, or the
 * ones named) one after another and writes each result to `bench/results/<scenario>.json`.
 * A scenario module exports `scenario: Scenario`. Keep scenarios short and on 127.0.0.1.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Scenario {
  name: string;
  description: string;
  run(): Promise<Record<string, unknown>>;
}

const dir = join(import.meta.dirname, 'scenarios');
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.scenario.ts'))
  .sort();
const scenarios: Scenario[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { scenario?: Scenario };
  if (mod.scenario && (wanted.length === 0 || wanted.includes(mod.scenario.name))) scenarios.push(mod.scenario);
}
const unknown = wanted.filter((w) => !scenarios.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; scenarios: ${files.map((f) => f.replace('.scenario.ts', '')).join(', ')}`);
  process.exit(2);
}
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
for (const scenario of scenarios) {
  console.log(`▶ ${scenario.name}: ${scenario.description}`);
  const result = await scenario.run();
  const record = {
    scenario: scenario.name,
    description: scenario.description,
    at: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
    ...result,
  };
  const file = join(import.meta.dirname, 'results', `${scenario.name}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`✓ ${scenario.name} → ${file}`);
}
