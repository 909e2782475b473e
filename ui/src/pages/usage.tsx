/** LLM cost and tokens per day as a stacked bar chart, split by workflow or model group, with totals and budgets. */
import { useState } from 'react';
import { api, data } from '../api.ts';
import { ErrorNote, formatTime, formatUsd, useLoad } from '../util.tsx';

type Split = 'workflow' | 'model_group';
type Measure = 'cost' | 'tokens';

const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4b5563'];

export function UsagePage() {
  const [days, setDays] = useState(30);
  const [split, setSplit] = useState<Split>('workflow');
  const [measure, setMeasure] = useState<Measure>('cost');
  const from = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const usage = useLoad(() => data(api.GET('/v1/usage', { params: { query: { from } } })), [from], 10_000);
  const budgets = useLoad(() => data(api.GET('/v1/usage/budgets')), [], 10_000);
  const rows = usage.value?.items ?? [];
  const dayList = Array.from({ length: days }, (_, i) => new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10));
  const groups = [...new Set(rows.map((r) => (split === 'workflow' ? (r.workflow ?? '(none)') : r.model_group)))].sort();
  const amount = (r: (typeof rows)[number]) => (measure === 'cost' ? r.cost_usd : r.input_tokens + r.output_tokens);
  const cell = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.day.slice(0, 10)}|${split === 'workflow' ? (r.workflow ?? '(none)') : r.model_group}`;
    cell.set(k, (cell.get(k) ?? 0) + amount(r));
  }
  const dayTotal = (d: string) => groups.reduce((s, g) => s + (cell.get(`${d}|${g}`) ?? 0), 0);
  const max = Math.max(0, ...dayList.map(dayTotal));
  const show = (n: number) => (measure === 'cost' ? formatUsd(n) : `${n.toLocaleString()} tokens`);
  const W = 720;
  const H = 220;
  const LEFT = 80;
  const barW = (W - LEFT - 5) / days;
  const totals = usage.value?.totals;
  return (
    <section>
      <h1>Usage</h1>
      <form className="filters" aria-label="Chart options" onSubmit={(e) => e.preventDefault()}>
        <label>
          Period
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>7 days</option>
            <option value={30}>30 days</option>
            <option value={90}>90 days</option>
          </select>
        </label>
        <label>
          Split by
          <select value={split} onChange={(e) => setSplit(e.target.value as Split)}>
            <option value="workflow">workflow</option>
            <option value="model_group">model group</option>
          </select>
        </label>
        <label>
          Show
          <select value={measure} onChange={(e) => setMeasure(e.target.value as Measure)}>
            <option value="cost">cost</option>
            <option value="tokens">tokens</option>
          </select>
        </label>
      </form>
      <ErrorNote error={usage.error} />
      {totals && (
        <dl className="facts totals" aria-label="Totals">
          <dt>Cost</dt>
          <dd data-total="cost">{formatUsd(totals.cost_usd)}</dd>
          <dt>Input tokens</dt>
          <dd>{totals.input_tokens.toLocaleString()}</dd>
          <dt>Output tokens</dt>
          <dd>{totals.output_tokens.toLocaleString()}</dd>
          <dt>Calls</dt>
          <dd>{totals.calls.toLocaleString()}</dd>
        </dl>
      )}
      <figure className="chart">
        <svg viewBox={`0 0 ${W} ${H + 30}`} role="img" aria-labelledby="usage-chart-title">
          <title id="usage-chart-title">{`${measure === 'cost' ? 'Cost' : 'Tokens'} per day by ${split === 'workflow' ? 'workflow' : 'model group'}, ${days} days: ${show(dayList.reduce((s, d) => s + dayTotal(d), 0))} in all`}</title>
          <line x1={LEFT - 5} y1={H} x2={W} y2={H} className="axis" />
          <text x={LEFT - 10} y={12} textAnchor="end" className="tick">
            {show(max)}
          </text>
          <text x={LEFT - 10} y={H} textAnchor="end" className="tick">
            0
          </text>
          {dayList.map((d, i) => {
            let y = H;
            return (
              <g key={d}>
                {groups.map((g, gi) => {
                  const v = cell.get(`${d}|${g}`) ?? 0;
                  if (v === 0 || max === 0) return null;
                  const h = Math.max(1, (v / max) * (H - 10));
                  y -= h;
                  return (
                    <rect
                      key={g}
                      data-day={d}
                      data-group={g}
                      x={LEFT + i * barW}
                      y={y}
                      width={Math.max(1, barW - 2)}
                      height={h}
                      fill={PALETTE[gi % PALETTE.length]}
                    >
                      <title>{`${d} · ${g}: ${show(v)}`}</title>
                    </rect>
                  );
                })}
                {(i === 0 || i === days - 1 || days <= 7) && (
                  <text x={LEFT + i * barW + barW / 2} y={H + 18} textAnchor="middle" className="tick">
                    {d.slice(5)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
        <figcaption>
          <ul className="legend">
            {groups.map((g, gi) => (
              <li key={g}>
                <span className="swatch" style={{ background: PALETTE[gi % PALETTE.length] }} aria-hidden="true" /> {g}
              </li>
            ))}
            {groups.length === 0 && <li>No usage in this period.</li>}
          </ul>
        </figcaption>
      </figure>
      <h2>Budgets</h2>
      <ErrorNote error={budgets.error} />
      {budgets.value?.budgets.length === 0 && <p>No budgets are configured (gateway.yaml `budgets:`).</p>}
      {(budgets.value?.budgets.length ?? 0) > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Scope</th>
                <th scope="col">Period</th>
                <th scope="col">Spent</th>
                <th scope="col">Limit</th>
                <th scope="col">Left</th>
                <th scope="col">Resets</th>
              </tr>
            </thead>
            <tbody>
              {budgets.value?.budgets.map((b, i) => (
                <tr key={i}>
                  <td>{b.scope === 'workflow' ? `workflow ${b.workflow ?? ''}` : 'tenant'}</td>
                  <td>{b.period}</td>
                  <td>
                    {formatUsd(b.spent_usd)} / {b.spent_tokens.toLocaleString()} tokens
                  </td>
                  <td>
                    {b.limit_usd !== null ? formatUsd(b.limit_usd) : ''} {b.limit_tokens !== null ? `${b.limit_tokens.toLocaleString()} tokens` : ''}
                  </td>
                  <td>
                    {b.limit_usd !== null && (
                      <meter min={0} max={b.limit_usd} value={Math.max(0, b.limit_usd - b.spent_usd - b.reserved_usd)} aria-label="USD left" />
                    )}{' '}
                    {b.limit_usd !== null ? formatUsd(Math.max(0, b.limit_usd - b.spent_usd - b.reserved_usd)) : ''}{' '}
                    {b.limit_tokens !== null ? `${Math.max(0, b.limit_tokens - b.spent_tokens - b.reserved_tokens).toLocaleString()} tokens` : ''}
                  </td>
                  <td>{formatTime(b.resets_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
