#!/usr/bin/env node
/**
 * `npm test`: lint, typecheck, the format check (prettier), the unused-export check (knip), the
 * secret scan (scripts/scan-secrets.mjs) and the test suite, started together; fails when any of
 * them fails.
 *
 * Run one after the other, the suite would wait the ~40 s of CPU that lint and typecheck take
 * before its first test. Most of the suite waits on child processes, PostgreSQL and timers, so
 * the checks run beside it at a lower CPU priority and use the time it leaves idle.
 * Their output is printed in one block each when they end; the suite's streams as it runs.
 * Arguments go to vitest (`npm test -- test/unit`).
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';

const bin = (name) => join(import.meta.dirname, '..', 'node_modules', '.bin', name);
/** A check's program: `node` is this Node (a script of this repository), anything else a package's binary. */
const executable = (command) => (command === 'node' ? process.execPath : bin(command));
/** Lower than the suite's processes, so that timing-sensitive tests are not starved. */
const BACKGROUND_PRIORITY = 10;

/** Runs a check with its output kept, and resolves with its exit code after printing it. */
function check(name, command, args) {
  const child = spawn(executable(command), args, { stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
  try {
    if (child.pid !== undefined) setPriority(child.pid, BACKGROUND_PRIORITY);
  } catch {
    // Not permitted here: it runs at normal priority.
  }
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stdout.write(`\n[${name}] cannot start: ${error.message}\n`);
      resolve(1);
    });
    child.once('close', (code, signal) => {
      const status = code === 0 ? 'passed' : `failed (${signal ?? `exit ${code}`})`;
      process.stdout.write(`\n[${name}] ${status}${output.trim() === '' ? '' : `:\n${output.trimEnd()}`}\n`);
      resolve(code ?? 1);
    });
  });
}

function suite(args) {
  const child = spawn(bin('vitest'), ['run', ...args], { stdio: 'inherit', shell: process.platform === 'win32' });
  return new Promise((resolve) => {
    child.once('error', (error) => {
      process.stdout.write(`\n[vitest] cannot start: ${error.message}\n`);
      resolve(1);
    });
    child.once('close', (code) => resolve(code ?? 1));
  });
}

const [lint, typecheck, typecheckUi, format, exports, secrets, tests] = await Promise.all([
  check('lint', 'eslint', ['.']),
  check('typecheck', 'tsc', ['-p', 'tsconfig.json', '--noEmit']),
  check('typecheck ui', 'tsc', ['-p', 'ui/tsconfig.json']),
  check('format', 'prettier', ['--check', '--log-level', 'warn', '.']),
  check('unused exports', 'knip', ['--no-progress', '--reporter', 'compact', '--treat-config-hints-as-errors']),
  check('secret scan', 'node', ['scripts/scan-secrets.mjs']),
  suite(process.argv.slice(2)),
]);
const failed = Object.entries({ lint, typecheck, 'typecheck ui': typecheckUi, format, 'unused exports': exports, 'secret scan': secrets, tests })
  .filter(([, code]) => code !== 0)
  .map(([name]) => name);
process.stdout.write(
  failed.length === 0 ? '\nlint, typecheck (and of ui/), format, unused exports, secret scan and tests passed\n' : `\nfailed: ${failed.join(', ')}\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
