/**
 * Just enough Markdown for the docs tests: fenced code blocks, headings as GitHub anchors them,
 * and the relative links of a page (outside code), each with its line.
 */

export interface FencedBlock {
  /** The info string's first word (`sh`, `console`; '' when untagged). */
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  lines: string[];
}

export interface Link {
  /** As written: `../api.md#endpoints`, `#quiesce`, `runbooks/runs-stuck.md`. */
  target: string;
  /** 1-based line. */
  line: number;
}

const FENCE = /^\s*(```+|~~~+)\s*([^\s`]*)/;

/** The page's lines, each with whether it is inside a fenced block (fence lines count as inside). */
function classify(text: string): Array<{ text: string; fenced: boolean }> {
  let open: string | undefined;
  return text.split('\n').map((line) => {
    const fence = FENCE.exec(line);
    if (open === undefined && fence) {
      open = fence[1]!;
      return { text: line, fenced: true };
    }
    if (open !== undefined) {
      if (fence && fence[1]!.startsWith(open) && fence[2] === '') open = undefined;
      return { text: line, fenced: true };
    }
    return { text: line, fenced: false };
  });
}

export function fencedBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let current: FencedBlock | undefined;
  text.split('\n').forEach((line, index) => {
    const fence = FENCE.exec(line);
    if (current === undefined) {
      if (fence) current = { lang: fence[2] ?? '', line: index + 1, lines: [] };
    } else if (fence && fence[2] === '') {
      blocks.push(current);
      current = undefined;
    } else {
      current.lines.push(line);
    }
  });
  return blocks;
}

/** GitHub's anchor of a heading: links reduced to their text, lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export interface Heading {
  /** 1 for `#`, 2 for `##` … */
  level: number;
  title: string;
  /** 1-based line. */
  line: number;
}

/** The page's headings (outside code), in order. */
export function headings(text: string): Heading[] {
  const found: Heading[] = [];
  classify(text).forEach((line, index) => {
    const heading = line.fenced ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line.text);
    if (heading) found.push({ level: heading[1]!.length, title: heading[2]!, line: index + 1 });
  });
  return found;
}

/** Every heading's anchor; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const heading of headings(text)) {
    const base = anchorOf(heading.title);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Links to other files of the repository or to this page's headings (not `http:`, `mailto:` or absolute paths), outside code. */
export function relativeLinks(text: string): Link[] {
  const links: Link[] = [];
  classify(text).forEach((line, index) => {
    if (line.fenced) return;
    const prose = line.text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('/')) continue;
      links.push({ target, line: index + 1 });
    }
  });
  return links;
}
