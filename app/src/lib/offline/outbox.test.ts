import type { CreateDealInput } from '@amanat/core/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiClient } from '#lib/api/client.ts';
import { endpoints } from '#lib/api/endpoints.ts';
import { clearOfflineData, getReplayAuth, listOutbox } from './db.ts';
import { Outbox, type OutboxItem } from './outbox.svelte.ts';
import { sendWith } from './replay.ts';

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';

interface Sent {
  path: string;
  idempotencyKey: string | null;
  authorization: string | null;
  body: unknown;
}

/** A fake API: records every request and answers with what the test scripted, in order. */
function fakeApi() {
  const sent: Sent[] = [];
  const answers: Array<() => Response | Promise<Response>> = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    sent.push({
      path: new URL(String(input)).pathname,
      idempotencyKey: headers.get('idempotency-key'),
      authorization: headers.get('authorization'),
      body: init?.body ? JSON.parse(String(init.body)) : null,
    });
    const next = answers.shift();
    return next ? next() : deal(`d${sent.length}`);
  });
  return { sent, answers, fetch };
}

const deal = (id: string) =>
  new Response(JSON.stringify({ id, title: id }), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  });
const problem = (status: number, code: string, detail: string) =>
  new Response(JSON.stringify({ code, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
const networkDown = () => {
  throw new TypeError('Failed to fetch');
};

const createDeal = (title: string): OutboxItem => ({
  kind: 'createDeal',
  body: { title } as unknown as CreateDealInput,
});
const message = (dealId: string, text: string): OutboxItem => ({ kind: 'disputeMessage', dealId, text });

function makeOutbox(api: ReturnType<typeof fakeApi>, who: { user: string | null; online?: boolean }) {
  return new Outbox({
    send: sendWith(
      endpoints(createApiClient({ baseUrl: 'http://api.test', token: () => 'token-1', fetch: api.fetch })),
    ),
    userId: () => who.user,
    token: () => (who.user ? 'token-1' : null),
    // Entries are queued "offline" so each test decides when the replay runs.
    online: () => who.online ?? false,
  });
}

beforeEach(async () => {
  await clearOfflineData();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('outbox', () => {
  it('replays entries oldest first, each with its own idempotency key', async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE });
    const a = await outbox.enqueue(createDeal('first'));
    const b = await outbox.enqueue(message('deal-9', 'hello'));
    const c = await outbox.enqueue(createDeal('third'));
    expect(api.sent).toEqual([]);
    expect(outbox.waiting).toBe(3);

    await outbox.replay();

    expect(api.sent.map((s) => s.path)).toEqual([
      '/api/deals',
      '/api/deals/deal-9/dispute/messages',
      '/api/deals',
    ]);
    expect(api.sent.map((s) => s.body)).toEqual([{ title: 'first' }, { text: 'hello' }, { title: 'third' }]);
    expect(api.sent.map((s) => s.idempotencyKey)).toEqual([
      a.idempotencyKey,
      b.idempotencyKey,
      c.idempotencyKey,
    ]);
    expect(new Set([a.idempotencyKey, b.idempotencyKey, c.idempotencyKey]).size).toBe(3);
    expect(api.sent.every((s) => s.authorization === 'Bearer token-1')).toBe(true);
    // Sent entries leave the store, and stay in the list for a moment with the server's answer.
    expect(await listOutbox(ALICE)).toEqual([]);
    expect(outbox.entries.map((e) => e.result?.id)).toEqual(['d1', 'd2', 'd3']);
    expect(outbox.waiting).toBe(0);
  });

  it('stops at a network failure, keeps the rest queued and resends with the same key', async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE });
    const a = await outbox.enqueue(createDeal('first'));
    await outbox.enqueue(createDeal('second'));

    api.answers.push(networkDown);
    await outbox.replay();
    expect(api.sent).toHaveLength(1);
    expect((await listOutbox(ALICE)).map((e) => e.status)).toEqual(['queued', 'queued']);
    expect(outbox.entries.map((e) => e.status)).toEqual(['queued', 'queued']);

    // The server may have done it before the connection dropped: a server error, then success.
    api.answers.push(() => problem(503, 'unavailable', 'Try later'));
    await outbox.replay();
    await outbox.replay();
    expect(api.sent.map((s) => s.body)).toEqual([
      { title: 'first' },
      { title: 'first' },
      { title: 'first' },
      { title: 'second' },
    ]);
    expect(api.sent.slice(0, 3).map((s) => s.idempotencyKey)).toEqual([
      a.idempotencyKey,
      a.idempotencyKey,
      a.idempotencyKey,
    ]);
    expect(await listOutbox(ALICE)).toEqual([]);
  });

  it('keeps an entry the API rejects, with its reason, and goes on with the next', async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE });
    const bad = await outbox.enqueue(createDeal('too cheap'));
    await outbox.enqueue(message('deal-9', 'hello'));

    api.answers.push(() => problem(422, 'amount_too_small', 'The amount is below the minimum'));
    await outbox.replay();

    expect(api.sent).toHaveLength(2);
    const stored = await listOutbox(ALICE);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: bad.id,
      status: 'rejected',
      error: { code: 'amount_too_small', message: 'The amount is below the minimum' },
    });
    expect(outbox.entries.find((e) => e.id === bad.id)?.status).toBe('rejected');
    expect(outbox.waiting).toBe(0);

    // A rejected entry is not sent again; it stays until the user dismisses it.
    await outbox.replay();
    expect(api.sent).toHaveLength(2);
    await outbox.load();
    expect(outbox.entries.some((e) => e.id === bad.id)).toBe(true);
    await outbox.dismiss(bad.id);
    expect(outbox.entries.some((e) => e.id === bad.id)).toBe(false);
    expect(await listOutbox(ALICE)).toEqual([]);
  });

  it('sends an entry once when replays are asked for concurrently', async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE });
    await outbox.enqueue(createDeal('one'));
    await outbox.enqueue(createDeal('two'));

    await Promise.all([outbox.replay(), outbox.replay(), outbox.replay()]);

    expect(api.sent.map((s) => s.body)).toEqual([{ title: 'one' }, { title: 'two' }]);
  });

  it('sends an entry once when two tabs replay at the same time (Web Locks)', async () => {
    // A minimal LockManager: one holder at a time per name, like the browser's.
    const held = new Map<string, Promise<unknown>>();
    vi.stubGlobal('navigator', {
      onLine: true,
      locks: {
        request<T>(name: string, fn: () => Promise<T>): Promise<T> {
          const before = held.get(name) ?? Promise.resolve();
          const run = before.then(fn, fn);
          held.set(
            name,
            run.catch(() => {}),
          );
          return run;
        },
      },
    });
    const api = fakeApi();
    const tabA = makeOutbox(api, { user: ALICE });
    const tabB = makeOutbox(api, { user: ALICE });
    await tabA.enqueue(createDeal('one'));
    await tabA.enqueue(message('deal-9', 'hi'));
    await tabB.load();
    expect(tabB.waiting).toBe(2);

    await Promise.all([tabA.replay(), tabB.replay()]);

    expect(api.sent.map((s) => s.body)).toEqual([{ title: 'one' }, { text: 'hi' }]);
  });

  it('sends at once when queued online', async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE, online: true });
    await outbox.enqueue(createDeal('now'));
    await outbox.replay(); // joins the replay the enqueue started
    expect(api.sent.map((s) => s.body)).toEqual([{ title: 'now' }]);
    expect(outbox.entries[0]?.result?.id).toBe('d1');
  });

  it("never shows or sends another user's entries", async () => {
    const api = fakeApi();
    const who = { user: ALICE as string | null };
    const outbox = makeOutbox(api, who);
    await outbox.enqueue(createDeal('alice'));

    who.user = BOB;
    await outbox.load();
    expect(outbox.entries).toEqual([]);
    await outbox.replay();
    expect(api.sent).toEqual([]);

    who.user = ALICE;
    await outbox.load();
    expect(outbox.entries.map((e) => e.item)).toEqual([createDeal('alice')]);
  });

  it("keeps the worker's replay credentials only while something waits", async () => {
    const api = fakeApi();
    const outbox = makeOutbox(api, { user: ALICE });
    await outbox.enqueue(createDeal('one'));
    expect(await getReplayAuth()).toEqual({ userId: ALICE, token: 'token-1' });
    await outbox.replay();
    expect(await getReplayAuth()).toBeNull();
  });
});
