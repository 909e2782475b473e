/**
 * A unified diff (`diff -u`, three lines of context) of two texts, line by line, from their
 * longest common subsequence. Meant for files of spec size (bounded by `LIMITS.specFileBytes`).
 */

type Op = { kind: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function diffOps(a: readonly string[], b: readonly string[]): Op[] {
  // Common head and tail first: a migration changes a few lines of a long file.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const width = y.length + 1;
  const lcs = new Uint32Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * width + j] = x[i] === y[j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  const ops: Op[] = a.slice(0, head).map((line) => ({ kind: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      ops.push({ kind: ' ', line: x[i++] as string });
      j++;
    } else if (i < x.length && (j === y.length || (lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0))) {
      ops.push({ kind: '-', line: x[i++] as string });
    } else {
      ops.push({ kind: '+', line: y[j++] as string });
    }
  }
  for (const line of a.slice(a.length - tail)) ops.push({ kind: ' ', line });
  return ops;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`;
}

/** `''` when the texts are equal; otherwise `--- from`, `+++ to` and the hunks. */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }, context = 3): string {
  if (before === after) return '';
  const ops = diffOps(splitLines(before), splitLines(after));
  const changed = ops.flatMap((op, index) => (op.kind === ' ' ? [] : [index]));
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - context);
    let end = (changed[k] as number) + context;
    while (k + 1 < changed.length && (changed[k + 1] as number) - context <= end + 1) end = (changed[++k] as number) + context;
    k++;
    end = Math.min(ops.length - 1, end);
    let aLine = 1;
    let bLine = 1;
    for (const op of ops.slice(0, start)) {
      if (op.kind !== '+') aLine++;
      if (op.kind !== '-') bLine++;
    }
    const hunk = ops.slice(start, end + 1);
    const aCount = hunk.filter((op) => op.kind !== '+').length;
    const bCount = hunk.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@`, ...hunk.map((op) => `${op.kind}${op.line}`));
  }
  return `${out.join('\n')}\n`;
}
