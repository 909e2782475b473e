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
      `${c.statements_per_step ?? '–'} stmt/step  ${c.worker_cpu_ms_per_step} cpu ms/step  enqueue→start p50/p99 ${latencyText(c)}  ` +
      `${c.enqueue_runs_per_s === null ? '' : `started ${c.enqueue_runs_per_s} runs/s  `}load ${load(c)}`,
  );
}

export interface EngineRatios {
  /** Agentry steps/s ÷ graphile-worker jobs/s (default options), same processes: `one-step ×1`. */
  to_graphile: Record<string, number>;
  /** The same ÷ graphile-worker with local queue + batched completion. */
  to_graphile_batched: Record<string, number>;
  /** Agentry on SQLite ÷ the raw claim + complete loop: `one-step`. */
  sqlite_to_raw_loop: Record<string, number>;
  /** With the parked runs ÷ without, same store and processes: `postgres one-step ×1`. */
  parked_to_empty: Record<string, number>;
  /** The same for the rate the backlog's runs were started at. */
  parked_to_empty_starts: Record<string, number>;
}

export function engineRatios(cases: EngineCase[]): EngineRatios {
  const find = (store: string, system: string, workload: string, processes: number, parked = false) =>
    cases.find((c) => c.store === store && c.system === system && c.workload === workload && c.processes === processes && c.parked_runs > 0 === parked);
  const rate = (store: string, system: string, workload: string, processes: number, parked = false) =>
    find(store, system, workload, processes, parked)?.steps_per_s;
  const starts = (store: string, processes: number, parked: boolean) => find(store, 'agentry', 'one-step', processes, parked)?.enqueue_runs_per_s ?? undefined;
  const ratio = (ours: number | undefined, anchor: number | undefined) => (ours && anchor ? round(ours / anchor, 3) : undefined);
  const out: EngineRatios = { to_graphile: {}, to_graphile_batched: {}, sqlite_to_raw_loop: {}, parked_to_empty: {}, parked_to_empty_starts: {} };
  const put = (into: Record<string, number>, key: string, value: number | undefined) => {
    if (value !== undefined) into[key] = value;
  };
  for (const p of [1, 3]) {
    for (const wl of ['one-step', 'chain-10']) {
      put(out.to_graphile, `${wl} ×${p}`, ratio(rate('postgres', 'agentry', wl, p), rate('postgres', 'graphile', 'noop-job', p)));
      put(out.to_graphile_batched, `${wl} ×${p}`, ratio(rate('postgres', 'agentry', wl, p), rate('postgres', 'graphile-batched', 'noop-job', p)));
    }
    for (const store of ['postgres', 'sqlite']) {
      put(out.parked_to_empty, `${store} one-step ×${p}`, ratio(rate(store, 'agentry', 'one-step', p, true), rate(store, 'agentry', 'one-step', p)));
      put(out.parked_to_empty_starts, `${store} one-step ×${p}`, ratio(starts(store, p, true), starts(store, p, false)));
    }
  }
  for (const wl of ['one-step', 'chain-10'])
    put(out.sqlite_to_raw_loop, wl, ratio(rate('sqlite', 'agentry', wl, 1), rate('sqlite', 'sqlite-raw', 'noop-job', 1)));
  return out;
}

/** The cases as a Markdown table (what docs/performance.md shows), each Agentry case with its ratios. */
export function engineTable(cases: EngineCase[], ratios: EngineRatios): string {
  const lines = [
    '| store | system | workload | processes | steps | steps/s | stmt/step | cpu ms/step | enqueue→start p50 / p99 | runs started/s | load 1 / 5 / 15 min, before → after | ratios |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const c of cases) {
    const notes: string[] = [];
    const key = `${c.workload} ×${c.processes}`;
    if (c.system === 'agentry' && c.store === 'postgres' && c.parked_runs === 0) {
      if (ratios.to_graphile[key] !== undefined) notes.push(`÷ graphile-worker ${ratios.to_graphile[key]}`);
      if (ratios.to_graphile_batched[key] !== undefined) notes.push(`÷ batched ${ratios.to_graphile_batched[key]}`);
    }
    if (c.system === 'agentry' && c.store === 'sqlite' && c.parked_runs === 0 && ratios.sqlite_to_raw_loop[c.workload] !== undefined) {
      notes.push(`÷ raw loop ${ratios.sqlite_to_raw_loop[c.workload]}`);
    }
    const parkedKey = `${c.store} ${key}`;
    if (c.parked_runs > 0 && ratios.parked_to_empty[parkedKey] !== undefined) notes.push(`÷ without them ${ratios.parked_to_empty[parkedKey]}`);
    if (c.parked_runs > 0 && ratios.parked_to_empty_starts[parkedKey] !== undefined)
      notes.push(`starts ÷ without them ${ratios.parked_to_empty_starts[parkedKey]}`);
    const workload = c.parked_runs > 0 ? `${c.workload}, ${c.parked_runs.toLocaleString('en')} runs waiting` : c.workload;
    lines.push(
      `| ${c.store === 'postgres' ? 'PostgreSQL' : 'SQLite'} | ${LABELS[c.system]} | ${workload} | ${c.processes} | ${c.steps} | ${c.steps_per_s} | ` +
        `${c.statements_per_step ?? '–'} | ${c.worker_cpu_ms_per_step} | ${latencyText(c)} | ${c.enqueue_runs_per_s ?? '–'} | ${load(c)} | ${notes.join(', ')} |`,
    );
  }
  return lines.join('\n');
}
