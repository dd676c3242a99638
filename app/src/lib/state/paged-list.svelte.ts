import { explainError } from '../deals/errors.ts';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A cursor-paged list from the API: the first page again (after a change) or the next one. An answer
 * to an older request than the latest is dropped, so a reload cannot be overtaken by a slow "more".
 */
export class PagedList<T> {
  items = $state<T[]>([]);
  cursor = $state<string | null>(null);
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  #fetchPage: (cursor: string | undefined) => Promise<Page<T>>;
  #generation = 0;

  constructor(fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
    this.#fetchPage = fetchPage;
  }

  async load(more = false): Promise<void> {
    const mine = ++this.#generation;
    this.loading = true;
    this.error = null;
    try {
      const page = await this.#fetchPage(more && this.cursor ? this.cursor : undefined);
      if (mine !== this.#generation) return;
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.cursor = page.nextCursor;
      this.loaded = true;
    } catch (err) {
      if (mine === this.#generation) this.error = explainError(err);
    } finally {
      if (mine === this.#generation) this.loading = false;
    }
  }
}
