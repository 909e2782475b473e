/**
 * How deeply a YAML text may nest, read from its characters before it is parsed. The `yaml`
 * parser recurses once per level: a few thousand levels (`[[[[…`, or `- - - …` on one line, ten
 * kilobytes) exhaust the stack inside it, and at that depth V8 can fail to compile a regular
 * expression and abort the whole process — no exception to catch. So `parseYaml` refuses a text
 * whose nesting this scan bounds above its limit before the parser sees it.
 *
 * The scan over-estimates, never under-estimates: it counts flow brackets (`[`, `{`) outside
 * quotes and comments, the block levels that indentation opens, and the compact indicators
 * (`- `, `? `, `: `) that open levels on one line. Lines of a block scalar (`|`, `>`) are text,
 * not structure, and are skipped.
 */

/** At a token's start a quote opens a quoted scalar; inside a plain scalar (`don't`) it is a character. */
function tokenStart(previous: string | undefined): boolean {
  return (
    previous === undefined ||
    previous === ' ' ||
    previous === '\t' ||
    previous === '\n' ||
    previous === '[' ||
    previous === '{' ||
    previous === ',' ||
    previous === ':' ||
    previous === '-' ||
    previous === '?'
  );
}

/** The deepest nesting `text` can reach, or a number above `limit` as soon as one is seen. */
export function yamlNestingBound(text: string, limit: number): number {
  let deepest = 0;
  let flow = 0;
  const indents: number[] = [];
  let lineLevels = 0;
  let blockScalarIndent: number | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // A line's start (outside flow collections and quotes): indentation and compact indicators.
    if (flow === 0) {
      let indent = 0;
      while (i + indent < n && text[i + indent] === ' ') indent++;
      const blank = i + indent >= n || text[i + indent] === '\n' || text[i + indent] === '\r' || text[i + indent] === '#';
      if (blockScalarIndent !== undefined && (blank || indent > blockScalarIndent)) {
        const end = text.indexOf('\n', i);
        i = end < 0 ? n : end + 1;
        continue;
      }
      blockScalarIndent = undefined;
      i += indent;
      if (!blank) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
        lineLevels = indents.length;
        while (i < n && (text[i] === '-' || text[i] === '?' || text[i] === ':') && (i + 1 >= n || text[i + 1] === ' ' || text[i + 1] === '\n')) {
          lineLevels++;
          i++;
          while (i < n && text[i] === ' ') i++;
        }
        deepest = Math.max(deepest, lineLevels);
        if (deepest > limit) return deepest;
      }
    }
    // The rest of the line (or of a flow collection running over several lines).
    const lineIndent = indents.length > 0 ? indents[indents.length - 1]! : 0;
    while (i < n) {
      const c = text[i]!;
      if (c === '\n') {
        i++;
        break;
      }
      if (c === '#' && (i === 0 || text[i - 1] === ' ' || text[i - 1] === '\t')) {
        const end = text.indexOf('\n', i);
        i = end < 0 ? n : end;
        continue;
      }
      if ((c === '"' || c === "'") && tokenStart(text[i - 1])) {
        i = quotedEnd(text, i, c);
        continue;
      }
      if (c === '[' || c === '{') {
        flow++;
        deepest = Math.max(deepest, lineLevels + flow);
        if (deepest > limit) return deepest;
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      } else if (c === ':' && flow === 0 && (text[i + 1] === ' ' || text[i + 1] === '\n' || i + 1 >= n)) {
        // `key: value` on a block line opens the value's level.
        lineLevels++;
        deepest = Math.max(deepest, lineLevels);
        if (deepest > limit) return deepest;
      } else if ((c === '|' || c === '>') && flow === 0 && tokenStart(text[i - 1]) && /^[|>][0-9+-]*[ \t]*(#.*)?\r?$/.test(lineRest(text, i))) {
        blockScalarIndent = lineIndent;
      }
      i++;
    }
  }
  return deepest;
}

/** The text from `i` to the end of its line. */
function lineRest(text: string, i: number): string {
  const end = text.indexOf('\n', i);
  return text.slice(i, end < 0 ? text.length : end);
}

/** The index after the quoted scalar that opens at `i` (`''` escapes a single quote, `\` a double one's characters). */
function quotedEnd(text: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j]!;
    if (quote === '"' && c === '\\') j += 2;
    else if (c === quote && quote === "'" && text[j + 1] === "'") j += 2;
    else if (c === quote) return j + 1;
    else j++;
  }
  return j;
}
