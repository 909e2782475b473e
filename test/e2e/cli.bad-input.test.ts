/**
 * Bad input to every command: a clear message, exit code 2, and nothing changed — neither
 * in an existing store (row counts, max event seq and run statuses are compared) nor on disk
 * when no store exists yet (the database file is not created).
 *
 * The commands run in this process (`runCliInProcess`): what is checked is their output, exit
 * code and effect on disk. A real process checks that the exit code reaches the shell.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetailDto } from '../../src/cli/remote.js';
import {
  dbFile,
  exampleProject,
  killAll,
  removeDir,
  runCli,
  runCliInProcess,
  storeFingerprint,
  tempDir,
  type CliResult,
  type StoreFingerprint,
} from '../helpers/cli.js';

const QUICK = `name: quick
input:
  schema: { type: object, required: [name], properties: { name: { type: string } } }
steps:
  greet: { transform: { text: "hi {{ input.name }}" } }
output: "{{ steps.greet.output.text }}"
`;
const BROKEN = `name: broken
steps:
  first:
    transform: 1
    needs: [missing]
`;

let withStore: string;
let withoutStore: string;
let invalid: string;
let finishedRun: string;

beforeAll(async () => {
  withStore = exampleProject({ 'workflows/quick.yaml': QUICK });
  withoutStore = exampleProject({ 'workflows/quick.yaml': QUICK });
  invalid = exampleProject({ 'workflows/broken.yaml': BROKEN });
  const result = await runCli(['run', 'quick', '--input', '{"name":"Ada"}', '--wait', '--json', '--dir', withStore]);
  expect(result.code, result.stderr).toBe(0);
  finishedRun = (JSON.parse(result.stdout) as RunDetailDto).id;
}, 60_000);

afterEach(killAll);

afterAll(async () => {
  await killAll();
  for (const dir of [withStore, withoutStore, invalid]) removeDir(dir);
});

function expectUsageError(result: CliResult, message: RegExp): void {
  expect(result.stderr, `stdout: ${result.stdout}`).toMatch(message);
  expect(result.code).toBe(2);
}

/** [description, args (`DIR` is replaced by the project), expected stderr] */
const CASES: [string, string[], RegExp][] = [
  ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ['an unknown option', ['runs', 'list', '--bogus', '--dir', 'DIR'], /unknown option '--bogus'/],
  ['run without a workflow', ['run'], /missing the workflow: give a workflow name, or --file <spec.yaml>/],
  ['run with a workflow and --file', ['run', 'quick', '--file', 'x.yaml'], /give a workflow name or --file <spec.yaml>, not both/],
  ['runs get without an id', ['runs', 'get', '--dir', 'DIR'], /missing required argument 'id'/],
  ['input that is not JSON', ['run', 'quick', '--input', '{name:', '--dir', 'DIR'], /error \[invalid_request\]: --input is not valid JSON/],
  [
    'input failing the schema',
    ['run', 'quick', '--input', '{"name":5}', '--dir', 'DIR'],
    /error \[input_invalid\]: input of workflow 'quick' does not match its schema: \/name must be string/,
  ],
  [
    'input from a missing file',
    ['run', 'quick', '--input', '@no-such-input.json', '--dir', 'DIR'],
    /error \[invalid_request\]: input file no-such-input.json does not exist/,
  ],
  ['a priority out of range', ['run', 'quick', '--priority', '5000', '--dir', 'DIR'], /--priority.*must be from -1000 to 1000/],
  ['an unknown workflow', ['run', 'quik', '--input', '{}', '--dir', 'DIR'], /error \[not_found\]: workflow 'quik' not found \(did you mean 'quick'\?\)/],
  ['an unknown run id to get', ['runs', 'get', 'run_nope', '--dir', 'DIR'], /error \[not_found\]: run run_nope not found/],
  ['an unknown run id to cancel', ['runs', 'cancel', 'run_nope', '--dir', 'DIR'], /error \[not_found\]: run run_nope not found/],
  ['an unknown run id for events', ['runs', 'events', 'run_nope', '--dir', 'DIR'], /error \[not_found\]: run run_nope not found/],
  ['an unknown run id to follow', ['runs', 'events', 'run_nope', '--follow', '--dir', 'DIR'], /error \[not_found\]: run run_nope not found/],
  ['an unknown run id to retry', ['runs', 'retry', 'run_nope', '--dir', 'DIR'], /error \[not_found\]: run run_nope not found/],
  ['a limit of 0', ['runs', 'list', '--limit', '0', '--dir', 'DIR'], /option '--limit <n>' argument '0' is invalid\. must be from 1 to 200/],
  ["a limit above 200 (the API's page size)", ['runs', 'list', '--limit', '201', '--dir', 'DIR'], /'--limit <n>' argument '201' is invalid/],
  ['a limit that is not a number', ['runs', 'list', '--limit', 'ten', '--dir', 'DIR'], /must be a whole number from 1 to 200/],
  ['an unknown status', ['runs', 'list', '--status', 'succeeded,done', '--dir', 'DIR'], /unknown status 'done'/],
  ['a cursor no listing produced', ['runs', 'list', '--cursor', 'not a cursor', '--dir', 'DIR'], /'--cursor <cursor>' argument 'not a cursor' is invalid/],
  ['a negative --after', ['runs', 'events', 'run_nope', '--after', '-1', '--dir', 'DIR'], /'--after <seq>' argument '-1' is invalid/],
  ['a bad --timeout', ['run', 'quick', '--wait', '--timeout', 'soon', '--dir', 'DIR'], /'--timeout <duration>' argument 'soon' is invalid/],
  ['--timeout without --wait', ['run', 'quick', '--timeout', '5s', '--dir', 'DIR'], /--timeout applies only with --wait/],
  ['validate of a missing directory', ['validate', '/nonexistent/agentry-project'], /project directory \/nonexistent\/agentry-project does not exist/],
  ['a worker concurrency of 0', ['start', 'worker', '--concurrency', '0', '--dir', 'DIR'], /'--concurrency <n>' argument '0' is invalid/],
];

/** Runs every case (a few at a time; each is its own process) and keeps the results by name. */
async function runCases(cases: typeof CASES, dir: string): Promise<Map<string, CliResult>> {
  const results = new Map<string, CliResult>();
  const queue = [...cases];
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, args] = next;
      results.set(name, await runCliInProcess(args.map((a) => (a === 'DIR' ? dir : a))));
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return results;
}

describe('bad input to a project that has a store', () => {
  let before: StoreFingerprint;
  let results: Map<string, CliResult>;
  beforeAll(async () => {
    before = storeFingerprint(dbFile(withStore));
    results = await runCases(CASES, withStore);
  }, 300_000);

  it.each(CASES)('%s exits 2 with a clear message and leaves the store unchanged', (name, _args, message) => {
    expect(before.runs).toBe(1);
    expectUsageError(results.get(name)!, message);
    expect(storeFingerprint(dbFile(withStore))).toEqual(before);
  });

  it('cancelling a finished run exits 2 with the conflict and changes nothing', async () => {
    const before = storeFingerprint(dbFile(withStore));
    const result = await runCliInProcess(['runs', 'cancel', finishedRun, '--dir', withStore]);
    expectUsageError(result, new RegExp(`error \\[conflict\\]: run ${finishedRun} already ended succeeded`));
    expect(storeFingerprint(dbFile(withStore))).toEqual(before);
  });

  it('retrying a run that succeeded exits 2 with the conflict and changes nothing', async () => {
    const before = storeFingerprint(dbFile(withStore));
    const result = await runCliInProcess(['runs', 'retry', finishedRun, '--dir', withStore]);
    expectUsageError(result, new RegExp(`error \\[conflict\\]: run ${finishedRun} is succeeded; only failed, cancelled or timed_out runs can be retried`));
    expect(storeFingerprint(dbFile(withStore))).toEqual(before);
  });

  it('invalid configuration is reported all at once before the store is touched', async () => {
    const before = storeFingerprint(dbFile(withStore));
    const result = await runCliInProcess(['runs', 'list', '--dir', withStore], {
      env: { AGENTRY_CONCURRENCY: 'many', AGENTRY_LEASE_TTL: 'forever', AGENTRY_LOG_LEVEL: 'loud' },
    });
    expectUsageError(result, /invalid configuration \(3 problems\)/);
    expect(result.stderr).toMatch(/AGENTRY_CONCURRENCY: must be a whole number/);
    expect(result.stderr).toMatch(/AGENTRY_LEASE_TTL: must be a duration/);
    expect(result.stderr).toMatch(/AGENTRY_LOG_LEVEL: must be equal to one of the allowed values/);
    expect(storeFingerprint(dbFile(withStore))).toEqual(before);
  });
});

describe('bad input before any store exists', () => {
  // The cases that get past argument parsing to the project or the store.
  const cases = CASES.filter(([, args]) => args.includes('DIR') && !args.some((a) => /^--(bogus|limit|status|after|timeout|concurrency)$/.test(a)));
  let results: Map<string, CliResult>;
  beforeAll(async () => {
    results = await runCases(cases, withoutStore);
  }, 300_000);

  it.each(cases)('%s exits 2 and does not create the database file', (name, _args, message) => {
    expectUsageError(results.get(name)!, message);
    expect(existsSync(dbFile(withoutStore))).toBe(false);
  });

  it('an unsupported database URL is refused with its password masked', async () => {
    const result = await runCliInProcess(['run', 'quick', '--input', '{"name":"Ada"}', '--dir', withoutStore], {
      env: { AGENTRY_DATABASE_URL: 'mysql://agentry:hunter2@db.example:3306/agentry' },
    });
    expectUsageError(result, /AGENTRY_DATABASE_URL: 'mysql:\/\/agentry:\*\*\*@db\.example:3306\/agentry' is not a supported database URL/);
    expect(result.stderr).not.toContain('hunter2');
    expect(existsSync(dbFile(withoutStore))).toBe(false);
  });
});

describe('bad input to the agentry process', () => {
  it('exits the process with code 2 and the message on stderr', async () => {
    const result = await runCli(['runs', 'list', '--limit', '0', '--dir', withStore]);
    expectUsageError(result, /option '--limit <n>' argument '0' is invalid\. must be from 1 to 200/);
    expect(result.stdout).toBe('');
  });
});

describe('invalid projects and init', () => {
  it('validate prints each problem as file:line:col path: message and exits 2', async () => {
    const result = await runCliInProcess(['validate', invalid]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^workflows\/broken\.yaml:\d+:\d+ steps\.first\.needs\[0\]: .*missing/m);
    expect(existsSync(dbFile(invalid))).toBe(false);
  });

  it('validate --json reports the same problems as data', async () => {
    const result = await runCliInProcess(['validate', invalid, '--json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { valid: boolean; diagnostics: { file: string; line: number }[] };
    expect(report.valid).toBe(false);
    expect(report.diagnostics.some((d) => d.file === 'workflows/broken.yaml' && d.line > 0)).toBe(true);
  });

  it('run on an invalid project exits 2 with the diagnostics and creates no store', async () => {
    const result = await runCliInProcess(['run', 'quick', '--input', '{"name":"Ada"}', '--dir', invalid]);
    expectUsageError(result, /error \[spec_invalid\]: project .* is invalid[^]*workflows\/broken\.yaml:\d+:\d+/);
    expect(existsSync(dbFile(invalid))).toBe(false);
  });

  it('init refuses a non-empty directory with exit 2 and writes nothing', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      const result = await runCliInProcess(['init', dir]);
      expectUsageError(result, /is not empty .* add --force/);
      expect(readdirSync(dir)).toEqual(['notes.txt']);
    } finally {
      removeDir(dir);
    }
  });

  it('init writes a project that validates, and --force writes into a non-empty directory', async () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir, 'new'));
      const created = await runCliInProcess(['init', join(dir, 'new')]);
      expect(created.code).toBe(0);
      expect(created.stdout).toContain('Next steps');
      expect((await runCliInProcess(['validate', join(dir, 'new')])).code).toBe(0);
      const forced = await runCliInProcess(['init', join(dir, 'new'), '--force']);
      expect(forced.code).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});
