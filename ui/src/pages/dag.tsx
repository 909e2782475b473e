/**
 * A workflow's steps as a graph: layers by the longest chain of `needs` before each step, one
 * column per layer, edges from each need to the step. Nodes are coloured by their status and
 * are buttons (click, Enter or Space) that select the step.
 */
import type { KeyboardEvent } from 'react';
import { layout, type DagNode } from './layout.ts';

const W = 170;
const H = 54;
const GAP_X = 60;
const GAP_Y = 22;

export function Dag({ nodes, selected, onSelect }: { nodes: readonly DagNode[]; selected: string | null; onSelect: (id: string) => void }) {
  const placed = layout(nodes);
  const layers = Math.max(0, ...[...placed.values()].map((p) => p.layer)) + 1;
  const rows = Math.max(0, ...[...placed.values()].map((p) => p.row)) + 1;
  const pos = (id: string) => {
    const p = placed.get(id)!;
    return { x: 10 + p.layer * (W + GAP_X), y: 10 + p.row * (H + GAP_Y) };
  };
  const width = 20 + layers * W + (layers - 1) * GAP_X;
  const height = 20 + rows * H + (rows - 1) * GAP_Y;
  const key = (id: string) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(id);
    }
  };
  return (
    <div className="dag-wrap" tabIndex={0} role="region" aria-label="Run graph">
      <svg className="dag" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label="Steps of the run as a graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge-head" />
          </marker>
        </defs>
        {nodes.flatMap((n) =>
          n.needs
            .filter((need) => placed.has(need))
            .map((need) => {
              const a = pos(need);
              const b = pos(n.id);
              const x1 = a.x + W;
              const y1 = a.y + H / 2;
              const x2 = b.x;
              const y2 = b.y + H / 2;
              const mid = (x1 + x2) / 2;
              return <path key={`${need}->${n.id}`} className="edge" d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`} markerEnd="url(#arrow)" />;
            }),
        )}
        {nodes.map((n) => {
          const { x, y } = pos(n.id);
          return (
            <g
              key={n.id}
              className={`node status-${n.status}${selected === n.id ? ' selected' : ''}`}
              data-step={n.id}
              data-status={n.status}
              transform={`translate(${x} ${y})`}
              role="button"
              tabIndex={0}
              aria-pressed={selected === n.id}
              onClick={() => onSelect(n.id)}
              onKeyDown={key(n.id)}
            >
              <rect width={W} height={H} rx={8} />
              <text x={10} y={21} className="node-id">
                {n.id.length > 20 ? `${n.id.slice(0, 19)}…` : n.id}
              </text>
              <text x={10} y={40} className="node-meta">
                {n.kind} · {n.status}
                {n.items ? ` · ${n.items.done}/${n.items.total}` : ''}
                {n.child ? ' · child run' : ''}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
