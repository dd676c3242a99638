import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const DEAL_ID = '7a1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';

vi.hoisted(() => {
  localStorage.setItem(
    'amanat.session',
    JSON.stringify({
      token: 'buyer-token',
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      user: {
        id: '00000000-0000-4000-8000-000000000031',
        telegramId: '31',
        username: 'bea',
        displayName: 'Bea',
        language: 'en',
        roles: [],
      },
    }),
  );
});

const { sendDisputeMessage } = await import('./dispute-message.ts');
const { outbox } = await import('#lib/offline/outbox.svelte.ts');
const { network } = await import('#lib/state/network.svelte.ts');
const { ApiError } = await import('#lib/api/errors.ts');

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });

const posts: string[] = [];
let answers: Array<() => Promise<Response>> = [];

beforeEach(async () => {
  posts.length = 0;
  answers = [];
  network.online = true;
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: URL | string, init: RequestInit = {}) => {
      if (String(input).endsWith('/dispute/messages')) {
        posts.push((init.headers as Record<string, string>)['idempotency-key'] ?? '');
        const next = answers.shift();
        if (next) return next();
      }
      return json(200, { id: DEAL_ID });
    }),
  );
  for (const e of outbox.entries) await outbox.dismiss(e.id);
});
afterEach(() => vi.unstubAllGlobals());

describe('sendDisputeMessage', () => {
  it('sends the message with the given key', async () => {
    expect(await sendDisputeMessage(DEAL_ID, 'Where is it?', 'key-1')).toBe('sent');
    expect(posts).toEqual(['key-1']);
    expect(outbox.entries).toHaveLength(0);
  });

  it('after a network failure queues it under the SAME key, so a message that arrived is not posted twice', async () => {
    answers.push(async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(await sendDisputeMessage(DEAL_ID, 'Where is it?', 'key-2')).toBe('queued');
    // The outbox sends it at once (online); the server sees the first attempt's key again.
    await vi.waitFor(() => expect(posts).toHaveLength(2));
    expect(posts).toEqual(['key-2', 'key-2']);
  });

  it('offline, queues it with the key without trying the network', async () => {
    network.online = false;
    vi.stubGlobal('navigator', { ...navigator, onLine: false });
    expect(await sendDisputeMessage(DEAL_ID, 'Still waiting', 'key-3')).toBe('queued');
    expect(posts).toEqual([]);
    const entry = outbox.entries.find((e) => e.item.kind === 'disputeMessage');
    expect(entry?.idempotencyKey).toBe('key-3');
  });

  it('throws when the server refuses, and queues nothing', async () => {
    answers.push(async () =>
      json(409, {
        type: 'about:blank',
        title: 'x',
        status: 409,
        code: 'action_not_allowed_in_state',
        detail: 'no',
      }),
    );
    await expect(sendDisputeMessage(DEAL_ID, 'Late', 'key-4')).rejects.toBeInstanceOf(ApiError);
    expect(outbox.entries).toHaveLength(0);
  });
});
