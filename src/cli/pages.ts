/**
 * Walking a listing's pages (`{ items, next_cursor }`) the way the CLI's `list` commands take
 * `--cursor` and `--all`: the page at `from`, or with `all` that page and every one after it.
 */
export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
}

/** Hands each page's items to `onPage`; resolves with the cursor after the last page read (undefined: none is left). */
export async function walkPages<T>(
  read: (cursor: string | undefined) => Promise<CursorPage<T>>,
  from: string | undefined,
  all: boolean,
  onPage: (items: T[]) => void,
): Promise<string | undefined> {
  let cursor = from;
  for (;;) {
    const page = await read(cursor);
    onPage(page.items);
    cursor = page.next_cursor ?? undefined;
    if (!all || cursor === undefined) return cursor;
  }
}
