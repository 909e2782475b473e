/**
 * What SQLite writes per step (`npm run bench:writes:sqlite`, or `… -- chain` for the ten-step
 * chain): a new file, 2,000 one-step runs (200 chains) started by one store and the file closed,
 * then a second store's engine drains them (concurrency 10, as `agentry serve`). A reader holds a
 * snapshot of the file from before the drain, so no checkpoint copies the WAL back and every page
 * the drain's commits wrote stays in it: each WAL frame is one page written by one COMMIT, named
 * here by the table or index that owns the page (`dbstat`). Frames per step is what a COMMIT
 * costs (a frame is a 4 kB page write and its checksum); the worker's CPU per step is in the
 * `engine` scenario (docs/performance.md, "What SQLite's commits write").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { benchEngine } from './scenarios/engine-common.js';
import { CHAIN_LENGTH } from './scenarios/engine-workflows.js';

const STEPS = 2000;
const workflow = process.argv[2] === 'chain' ? 'chain' : 'one';
const RUNS = STEPS / (workflow === 'chain' ? CHAIN_LENGTH : 1);
const dir = mkdtempSync(join(tmpdir(), 'agentry-writes-'));
const file = join(dir, 'agentry.db');
const logger = pino({ level: 'warn' });
const engineOn = (store: Store) => benchEngine(store, { only: workflow, logger, concurrency: 10 });

const starter = openStore(`sqlite:${file}`, { logger });
await starter.migrate();
const starting = engineOn(starter);
for (let i = 0; i < RUNS; i++) await starting.startRun(workflow, {});
await starter.close(); // the last connection: the WAL is checkpointed and removed

// A snapshot of the file as it is now: no checkpoint may copy a later frame back, so the WAL keeps them all.
const snapshot = new Database(file, { readonly: true });
snapshot.exec('BEGIN');
snapshot.prepare('SELECT count(*) FROM runs').get();
const reader = new Database(file, { readonly: true });
const ended = reader.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'succeeded'`);

const store = openStore(`sqlite:${file}`, { logger });
const engine = engineOn(store);
const cpu = process.cpuUsage();
await engine.start();
while ((ended.get() as { n: number }).n < RUNS) await new Promise((resolve) => setTimeout(resolve, 100));
const { user, system } = process.cpuUsage(cpu);
await engine.stop();

// The WAL: a 32-byte header, then frames of a 24-byte header (page number; the file's size in
// pages on a commit's last frame, else 0) and the page.
const wal = readFileSync(`${file}-wal`);
const pageSize = wal.readUInt32BE(8);
const owners = new Map((reader.prepare('SELECT pageno, name FROM dbstat').all() as Array<{ pageno: number; name: string }>).map((r) => [r.pageno, r.name]));
const frames = new Map<string, number>();
let total = 0;
let commits = 0;
for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
  const owner = owners.get(wal.readUInt32BE(at)) ?? '(free or new page)';
  frames.set(owner, (frames.get(owner) ?? 0) + 1);
  total++;
  if (wal.readUInt32BE(at + 4) !== 0) commits++;
}
snapshot.exec('COMMIT');
snapshot.close();
reader.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

const per = (n: number) => (n / STEPS).toFixed(2);
console.log(`${workflow === 'chain' ? `${RUNS} chain-${CHAIN_LENGTH} runs` : `${RUNS} one-step runs`}, SQLite: per step`);
for (const [owner, n] of [...frames].sort(([, a], [, b]) => b - a)) console.log(`${owner.padEnd(28)} ${per(n)} pages`);
console.log(
  `pages written per step: ${per(total)} (${((total * pageSize) / STEPS / 1024).toFixed(1)} kB), commits per step: ${per(commits)}, pages per commit: ${(total / commits).toFixed(1)}`,
);
console.log(`worker CPU per step (this process, user + system): ${((user + system) / 1000 / STEPS).toFixed(3)} ms`);
