/**
 * The SQLite floor's engine case (floor-sqlite.ts): one-step runs drained by the engine as
 * `agentry serve` runs them (concurrency 10), once recording every statement and once not, and
 * the recording replayed alone on the file as it was before the drain.
 *
 * - A fresh file; `runs` one-step runs started one at a time by a store that is then closed
 *   (its last connection: the WAL is checkpointed into the file). The file is the snapshot.
 * - Recording drain: a copy of the snapshot, a new store and engine on it; every statement from
 *   before the store opens until every run has ended (floor-record.ts).
 * - Plain drain: another copy, the same without recording: the process's CPU from the engine's
 *   start until every run has ended, per step (the engine's own cost; its `succeeded` count is
 *   polled every 20 ms on a connection of its own).
 * - Replay: the recorded statements on a third copy (CPU and wall), and on a fourth with a
 *   clock read around each (time by statement kind).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pino from 'pino';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { benchEngine, TERMINAL } from './engine-common.js';
import { recordStatements, replay, replayByKind, type KindCost, type RecordedStatement, type Replayed } from './floor-record.js';

const logger = pino({ level: 'warn' });
const engineOn = (store: Store) => benchEngine(store, { only: 'one', logger, concurrency: 10 });

export interface EngineFloor {
  steps: number;
  statements: RecordedStatement[];
  /** The plain drain: the process's CPU per step, µs, and steps/s. */
  engineCpuUsPerStep: number;
  engineStepsPerS: number;
  replayed: Replayed;
  byKind: KindCost[];
}

export async function engineFloor(runs: number): Promise<EngineFloor> {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-floor-engine-'));
  try {
    const snapshot = join(dir, 'snapshot.db');
    const starter = openStore(`sqlite:${snapshot}`, { logger });
    await starter.migrate();
    const starting = engineOn(starter);
    for (let i = 0; i < runs; i++) await starting.startRun('one', {});
    await starter.close();
    const copy = (name: string) => {
      const file = join(dir, `${name}.db`);
      copyFileSync(snapshot, file);
      return file;
    };
    const recorded = await drain(copy('recorded'), runs, true);
    const plain = await drain(copy('plain'), runs, false);
    const statements = recorded.statements!;
    return {
      steps: runs,
      statements,
      engineCpuUsPerStep: plain.cpuUs / runs,
      engineStepsPerS: runs / (plain.wallUs / 1e6),
      replayed: replay(copy('replay'), statements),
      byKind: replayByKind(copy('by-kind'), statements),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function drain(file: string, runs: number, record: boolean): Promise<{ cpuUs: number; wallUs: number; statements?: RecordedStatement[] }> {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  const ended = reader.prepare(`SELECT count(*) FROM runs WHERE status IN ${TERMINAL}`).pluck();
  const recorder = record ? recordStatements() : undefined;
  recorder?.ignore(reader);
  const store = openStore(`sqlite:${file}`, { logger });
  const engine = engineOn(store);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await engine.start();
  while ((ended.get() as number) < runs) await sleep(20);
  const wallUs = (performance.now() - started) * 1000;
  const { user, system } = process.cpuUsage(cpu);
  const statements = recorder?.stop();
  await engine.stop();
  await store.close();
  reader.close();
  return { cpuUs: user + system, wallUs, ...(statements ? { statements } : {}) };
}
