/** What the `engine` scenario prints and records: a line per case as it ends, the ratios, a table at the end. */
import { caseName, round, type EngineCase } from './engine-common.js';

const LABELS: Record<EngineCase['system'], string> = {
  agentry: 'Agentry',
  graphile: 'graphile-worker',
  'graphile-batched': 'graphile-worker, batched',
  'sqlite-raw': 'raw claim + complete loop',
};

const load = (c: EngineCase) => `${c.load_average.before.join(' / ')} → ${c.load_average.after.join(' / ')}`;
const latencyText = (c: EngineCase) => (c.enqueue_to_start ? `${c.enqueue_to_start.p50_ms} / ${c.enqueue_to_start.p99_ms} ms` : '–');

export function printCase(c: EngineCase): void {
  console.log(
    `  ${caseName(c).padEnd(40)} ${String(c.steps_per_s).padStart(6)} steps/s  ${c.steps} steps in ${c.seconds}s  ` +
      `${c.statements_per_step ?? '–'} stmt/step  cpu ms/step: workers ${c.worker_cpu_ms_per_step}, database ${c.db_cpu_ms_per_step ?? '–'}  ` +
      `enqueue→start p50/p99 ${latencyText(c)}  ${c.enqueue_runs_per_s === null ? '' : `started ${c.enqueue_runs_per_s} runs/s  `}load ${load(c)}`,
  );
}

/** A case with the parked runs against the same case without them (with ÷ without). */
export interface ParkedRatio {
  steps_per_s: number;
  worker_cpu_per_step: number;
  /** PostgreSQL only. */
  db_cpu_per_step?: number;
  /** The rate the backlog's first runs were started at. */
  runs_started_per_s?: number;
}

export interface EngineRatios {
  /** Agentry steps/s ÷ graphile-worker jobs/s (default options), same processes: `one-step ×1`. */
  to_graphile: Record<string, number>;
  /** The same ÷ graphile-worker with local queue + batched completion. */
  to_graphile_batched: Record<string, number>;
  /** Agentry on SQLite ÷ the raw claim + complete loop: `one-step`. */
  sqlite_to_raw_loop: Record<string, number>;
  /** With the parked runs ÷ without, same store and processes: `postgres one-step ×1`. */
  parked_to_empty: Record<string, ParkedRatio>;
}

const ratio = (ours: number | null | undefined, anchor: number | null | undefined) => (ours && anchor ? round(ours / anchor, 3) : undefined);

export function engineRatios(cases: EngineCase[]): EngineRatios {
  const find = (store: string, system: string, workload: string, processes: number, parked = false) =>
    cases.find((c) => c.store === store && c.system === system && c.workload === workload && c.processes === processes && c.parked_runs > 0 === parked);
  const rate = (store: string, system: string, workload: string, processes: number) => find(store, system, workload, processes)?.steps_per_s;
  const out: EngineRatios = { to_graphile: {}, to_graphile_batched: {}, sqlite_to_raw_loop: {}, parked_to_empty: {} };
  const put = (into: Record<string, number>, key: string, value: number | undefined) => {
    if (value !== undefined) into[key] = value;
  };
  for (const p of [1, 3]) {
    for (const wl of ['one-step', 'chain-10']) {
      put(out.to_graphile, `${wl} ×${p}`, ratio(rate('postgres', 'agentry', wl, p), rate('postgres', 'graphile', 'noop-job', p)));
      put(out.to_graphile_batched, `${wl} ×${p}`, ratio(rate('postgres', 'agentry', wl, p), rate('postgres', 'graphile-batched', 'noop-job', p)));
    }
    for (const store of ['postgres', 'sqlite']) {
      const parked = find(store, 'agentry', 'one-step', p, true);
      const empty = find(store, 'agentry', 'one-step', p);
      if (!parked || !empty) continue;
      const db = ratio(parked.db_cpu_ms_per_step, empty.db_cpu_ms_per_step);
      const starts = ratio(parked.enqueue_runs_per_s, empty.enqueue_runs_per_s);
      out.parked_to_empty[`${store} one-step ×${p}`] = {
        steps_per_s: round(parked.steps_per_s / empty.steps_per_s, 3),
        worker_cpu_per_step: round(parked.worker_cpu_ms_per_step / empty.worker_cpu_ms_per_step, 3),
        ...(db === undefined ? {} : { db_cpu_per_step: db }),
        ...(starts === undefined ? {} : { runs_started_per_s: starts }),
      };
    }
  }
  for (const wl of ['one-step', 'chain-10'])
    put(out.sqlite_to_raw_loop, wl, ratio(rate('sqlite', 'agentry', wl, 1), rate('sqlite', 'sqlite-raw', 'noop-job', 1)));
  return out;
}

function notesOf(c: EngineCase, ratios: EngineRatios): string[] {
  const notes: string[] = [];
  const key = `${c.workload} ×${c.processes}`;
  if (c.system !== 'agentry') return notes;
  if (c.parked_runs > 0) {
    const r = ratios.parked_to_empty[`${c.store} ${key}`];
    if (r) {
      notes.push(`÷ without them: steps/s ${r.steps_per_s}, worker cpu/step ${r.worker_cpu_per_step}`);
      if (r.db_cpu_per_step !== undefined) notes.push(`database cpu/step ${r.db_cpu_per_step}`);
      if (r.runs_started_per_s !== undefined) notes.push(`runs started/s ${r.runs_started_per_s}`);
    }
  } else if (c.store === 'postgres') {
    if (ratios.to_graphile[key] !== undefined) notes.push(`÷ graphile-worker ${ratios.to_graphile[key]}`);
    if (ratios.to_graphile_batched[key] !== undefined) notes.push(`÷ batched ${ratios.to_graphile_batched[key]}`);
  } else if (ratios.sqlite_to_raw_loop[c.workload] !== undefined) {
    notes.push(`÷ raw loop ${ratios.sqlite_to_raw_loop[c.workload]}`);
  }
  return notes;
}

/** The cases as a Markdown table (what docs/performance.md shows), each Agentry case with its ratios. */
export function engineTable(cases: EngineCase[], ratios: EngineRatios): string {
  const lines = [
    '| store | system | workload | processes | steps | steps/s | stmt/step | cpu ms/step: workers / database | enqueue→start p50 / p99 | runs started/s | load 1 / 5 / 15 min, before → after | ratios |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const c of cases) {
    const workload = c.parked_runs > 0 ? `${c.workload}, ${c.parked_runs.toLocaleString('en')} runs waiting` : c.workload;
    lines.push(
      `| ${c.store === 'postgres' ? 'PostgreSQL' : 'SQLite'} | ${LABELS[c.system]} | ${workload} | ${c.processes} | ${c.steps} | ${c.steps_per_s} | ` +
        `${c.statements_per_step ?? '–'} | ${c.worker_cpu_ms_per_step} / ${c.db_cpu_ms_per_step ?? '–'} | ${latencyText(c)} | ${c.enqueue_runs_per_s ?? '–'} | ` +
        `${load(c)} | ${notesOf(c, ratios).join(', ')} |`,
    );
  }
  return lines.join('\n');
}
