/**
 * Shares of a V8 CPU profile's samples by part of the request path. A sample goes to the first
 * part of `BY_CALLER` found anywhere on its stack (so SQLite's native calls and Kysely count for
 * the ledger or the run view that ran them, the upstream request's socket writes for the
 * transport), else to the async machinery if the sample is in it (`LEAF`), else to the innermost
 * frame matching a part of `BY_FRAME` (the answer's `writev` for Node's sockets), else "other". For the profiles the bench targets write
 * (`BENCH_CPU_PROFILE` of gateway-target.ts, `BENCH_CPU_PROF` of api-target.ts).
 *
 *   npx tsx bench/profile-shares.ts <file.cpuprofile>
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
}

type Parts = ReadonlyArray<readonly [part: string, pattern: RegExp]>;

/** Parts named by a caller anywhere on the stack, in this order of precedence. */
const BY_CALLER: Parts = [
  ['usage ledger (batch writes, SQLite)', /ledger-writer|usage-batch|budget-leases/],
  ['store and SQLite (src/store, Kysely, better-sqlite3)', /\/src\/store\//],
  ['sign-in', /sign-in\.ts|\/server\/auth\.ts|key-cache|bootstrap-keys/],
  ['access line and logger (pino)', /access-log|\/obs\/logger|node_modules\/pino|sonic-boom/],
  ['redaction', /lib\/redact/],
  ['metrics', /\/obs\/metrics|prom-client/],
  ['upstream transport (undici, http-fetch)', /node_modules\/undici|http-fetch/],
  ['openai SDK', /node_modules\/openai/],
  ["gateway's own code", /\/src\/gateway\//],
  ['DTO mapping', /\/app\/dto\//],
];

/** Parts named by the innermost frame that matches one (after an await a stack starts at the continuation). */
const BY_FRAME: Parts = [
  ['garbage collection', /^\(garbage collector\)$/],
  ['idle', /^\(idle\)$/],
  ['(program)', /^\(program\)$/],
  ['store and SQLite (src/store, Kysely, better-sqlite3)', /node_modules\/(kysely|better-sqlite3)|\/src\/store\//],
  ['Node: sockets and HTTP', /^node:(net|_http|http|stream|internal\/stream|internal\/net|internal\/http)/],
  ['services (app)', /\/src\/app\//],
  ['server (routes, hooks)', /\/src\/server\//],
  ['Fastify, validation and serialisation', /node_modules\/(fastify|@fastify|fast-json-stringify|ajv|find-my-way|avvio)/],
];

/** Async hooks (the log context's), promise and timer machinery: only when the sample is in them. */
const LEAF: Parts = [['Node: async hooks, promises, timers', /^node:(async_hooks|internal\/async|internal\/timers|internal\/process\/task)|log-context/]];

function match(parts: Parts, frame: Node['callFrame']): string | undefined {
  for (const [part, pattern] of parts) if (pattern.test(frame.url) || pattern.test(frame.functionName)) return part;
  return undefined;
}

/** The part a sample's stack (leaf first) goes to. */
function partOf(stack: readonly Node[]): string {
  for (const [part, pattern] of BY_CALLER) if (stack.some((n) => pattern.test(n.callFrame.url))) return part;
  const leaf = stack[0] && match(LEAF, stack[0].callFrame);
  if (leaf !== undefined) return leaf;
  for (const n of stack) {
    const part = match(BY_FRAME, n.callFrame);
    if (part !== undefined) return part;
  }
  return 'other';
}

const file = process.argv[2];
if (!file) {
  console.error('usage: npx tsx bench/profile-shares.ts <file.cpuprofile>');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const parent = new Map<number, Node>();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
const counts = new Map<string, number>();
for (const id of profile.samples) {
  const stack: Node[] = [];
  for (let node = byId.get(id); node; node = parent.get(node.id)) stack.push(node);
  const part = partOf(stack);
  counts.set(part, (counts.get(part) ?? 0) + 1);
}
const busy = profile.samples.length - (counts.get('idle') ?? 0);
console.log(`${profile.samples.length} samples, ${busy} busy; shares of the busy samples:`);
for (const [part, count] of [...counts].sort((a, b) => b[1] - a[1])) {
  if (part !== 'idle') console.log(`  ${((count / busy) * 100).toFixed(1).padStart(5)} %  ${part}`);
}
