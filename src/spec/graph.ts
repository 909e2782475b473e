/** Step dependency graph: topological order (ties in declaration order) and cycles. */

export interface GraphResult {
  /** Every step outside a cycle, dependencies first. */
  order: string[];
  /** Each cycle once, starting at its earliest-declared step: [a, b, c] means a needs b needs c needs a. */
  cycles: string[][];
}

export function orderSteps(ids: readonly string[], needs: ReadonlyMap<string, readonly string[]>): GraphResult {
  const order: string[] = [];
  const done = new Set<string>();
  const pending = [...ids];
  for (;;) {
    const index = pending.findIndex((id) => (needs.get(id) ?? []).every((dep) => done.has(dep)));
    if (index === -1) break;
    const [id] = pending.splice(index, 1);
    if (id === undefined) break;
    order.push(id);
    done.add(id);
  }
  const remaining = new Set(pending);
  const inCycle = new Set<string>();
  const cycles: string[][] = [];
  for (const start of pending) {
    if (inCycle.has(start)) continue;
    const cycle = findCycle(start, needs, remaining);
    if (cycle === undefined || cycle.some((id) => inCycle.has(id))) continue;
    const first = Math.min(...cycle.map((id) => ids.indexOf(id)));
    const at = cycle.indexOf(ids[first] ?? '');
    const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
    for (const id of rotated) inCycle.add(id);
    cycles.push(rotated);
  }
  return { order, cycles };
}

function findCycle(start: string, needs: ReadonlyMap<string, readonly string[]>, within: ReadonlySet<string>): string[] | undefined {
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visited = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (onStack.has(id)) return stack.slice(stack.indexOf(id));
    if (visited.has(id)) return undefined;
    visited.add(id);
    stack.push(id);
    onStack.add(id);
    for (const dep of needs.get(id) ?? []) {
      if (!within.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    onStack.delete(id);
    return undefined;
  };
  return visit(start);
}
