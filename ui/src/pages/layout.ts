/** The graph's layout (`dag.tsx`): each step's column and row. No DOM: unit-tested (test/unit/console.forms.test.ts). */
export interface DagNode {
  id: string;
  kind: string;
  needs: string[];
  status: string;
  /** For a `for_each` step: how many items, and how many finished. */
  items?: { total: number; done: number; failed: number };
  /** A sub-workflow step's child run. */
  child?: string;
}

/** Each node's layer (0 for steps that need nothing) and row within it. */
export function layout(nodes: readonly DagNode[]): Map<string, { layer: number; row: number }> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map<string, number>();
  const depth = (id: string, seen: Set<string>): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => byId.has(n));
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map((n) => depth(n, seen)));
    layer.set(id, d);
    return d;
  };
  for (const n of nodes) depth(n.id, new Set());
  const rows = new Map<number, number>();
  const placed = new Map<string, { layer: number; row: number }>();
  for (const n of nodes) {
    const l = layer.get(n.id) ?? 0;
    const row = rows.get(l) ?? 0;
    rows.set(l, row + 1);
    placed.set(n.id, { layer: l, row });
  }
  return placed;
}
