/**
 * Cursor iteration: the API's listings answer `{ items, next_cursor }` (null on the last page),
 * and the next page is asked for with `?cursor=<next_cursor>`. A `Paged<T>` yields every item
 * of every page (`for await (const run of client.runs.list())`), fetching a page only when the
 * previous one has been consumed; `pages()` yields the pages themselves.
 */

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Paged<T> extends AsyncIterable<T> {
  /** The pages, one request each, until `next_cursor` is null. */
  pages(): AsyncGenerator<Page<T>>;
  /** Every item collected into an array (mind the size of what you list). */
  toArray(): Promise<T[]>;
}

export function paged<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, firstCursor?: string): Paged<T> {
  async function* pages(): AsyncGenerator<Page<T>> {
    let cursor = firstCursor;
    for (;;) {
      const page = await fetchPage(cursor);
      yield page;
      if (page.next_cursor === null || page.next_cursor === '' || page.next_cursor === cursor) return;
      cursor = page.next_cursor;
    }
  }
  async function* items(): AsyncGenerator<T> {
    for await (const page of pages()) yield* page.items;
  }
  return {
    pages,
    [Symbol.asyncIterator]: items,
    async toArray() {
      const all: T[] = [];
      for await (const item of items()) all.push(item);
      return all;
    },
  };
}
