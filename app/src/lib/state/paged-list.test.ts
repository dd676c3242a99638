import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors.ts';
import { PagedList } from './paged-list.svelte.ts';

/** A page fetch the test answers by hand, in any order. */
function manualPages() {
  const calls: Array<{ cursor: string | undefined; answer: (items: number[], next: string | null) => void }> =
    [];
  const fetchPage = (cursor: string | undefined) =>
    new Promise<{ items: number[]; nextCursor: string | null }>((resolve) => {
      calls.push({ cursor, answer: (items, nextCursor) => resolve({ items, nextCursor }) });
    });
  return { calls, fetchPage };
}

describe('PagedList', () => {
  it('appends the next page with the cursor, and reloads the first page from scratch', async () => {
    const { calls, fetchPage } = manualPages();
    const list = new PagedList(fetchPage);
    const first = list.load();
    calls[0]?.answer([1, 2], 'c2');
    await first;
    const more = list.load(true);
    expect(calls[1]?.cursor).toBe('c2');
    calls[1]?.answer([3], null);
    await more;
    expect(list.items).toEqual([1, 2, 3]);
    expect(list.cursor).toBeNull();
    const again = list.load();
    expect(calls[2]?.cursor).toBeUndefined();
    calls[2]?.answer([9], null);
    await again;
    expect(list.items).toEqual([9]);
  });

  it('drops an answer overtaken by a later request', async () => {
    const { calls, fetchPage } = manualPages();
    const list = new PagedList(fetchPage);
    const slow = list.load();
    const fast = list.load();
    calls[1]?.answer([2], null);
    await fast;
    calls[0]?.answer([1], 'stale');
    await slow;
    expect(list.items).toEqual([2]);
    expect(list.cursor).toBeNull();
    expect(list.loading).toBe(false);
  });

  it('keeps what it has and explains a failure', async () => {
    const list = new PagedList<number>(async () => {
      throw new ApiError(403, 'arbitrator_only', 'Only arbitrators may list every disputed deal');
    });
    await list.load();
    expect(list.items).toEqual([]);
    expect(list.loaded).toBe(false);
    expect(list.error).toMatch(/arbitrator/i);
  });
});
