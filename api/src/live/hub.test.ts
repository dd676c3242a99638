import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEAL_EVENTS_CHANNEL, redisKeys } from '@amanat/core';
import { connectRedis, createLogger, createRedis, OutboxRelay } from '@amanat/platform';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_TG, REFUND_ADDRESS as REFUND, startTestApi, type TestApi } from '../testing.ts';
import { createLiveHub, type LiveHubOptions } from './hub.ts';
import { eventsFor, type LiveTestClient, openLive, waitForSubscribers } from './test-client.ts';

/** Live deal events over WebSocket in one API process, with the outbox relay run by the test. */

const UNKNOWN_TOKEN = `ses_${'A'.repeat(43)}`;

let t: TestApi;
let relay: OutboxRelay;
let relayRedis: Redis;
let channel: string;
const sockets: LiveTestClient[] = [];
const closers: Array<() => Promise<void>> = [];
let nextTg = 300_000;

beforeAll(async () => {
  t = await startTestApi();
  relayRedis = await connectRedis(createRedis(t.redis.url, 'producer', 'test-relay'));
  relay = new OutboxRelay({
    pool: t.db.pool,
    redis: relayRedis,
    prefix: t.redis.prefix,
    logger: createLogger('test', 'silent'),
  });
  channel = redisKeys(t.redis.prefix).channel(DEAL_EVENTS_CHANNEL);
  await waitForSubscribers(t.redis.redis, channel, 1);
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});
afterAll(async () => {
  for (const socket of sockets) socket.socket.terminate();
  await relay?.stop();
  relayRedis?.disconnect();
  await t?.close();
});

/** Publishes every committed deal event, as the workers' relay does. */
async function drain() {
  while ((await relay.drainOnce()) > 0) {}
}

async function user() {
  const token = await t.signIn(++nextTg);
  const me = await t.call('GET', '/api/auth/me', { token });
  return { token, id: me.body.id as string };
}

async function live(url = t.url, opts: Parameters<typeof openLive>[1] = {}) {
  const client = await openLive(url, opts);
  sockets.push(client);
  return client;
}

const createDeal = (token: string) => t.createDeal(token, { amount: '100' });

const eventOf = (dealId: string, action: string) => (m: { type: string; event?: Record<string, unknown> }) =>
  m.type === 'deal.event' && m.event?.dealId === dealId && m.event?.action === action;

/** A hub of its own (on its own server, same API context) with timers short enough to test. */
async function ownHub(options: Partial<LiveHubOptions>) {
  const { ctx } = t.api;
  const hub = createLiveHub(ctx, t.api.auth.authenticate, options);
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  hub.attach(server);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  closers.push(close);
  return { hub, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

describe('live updates at /api/ws', () => {
  it("delivers a deal's events to its parties only: the seller from creation, the buyer once joined, never a stranger", async () => {
    const [seller, buyer, stranger] = await Promise.all([user(), user(), user()]);
    const [sellerWs, buyerWs, strangerWs] = await Promise.all([live(), live(), live()]);
    expect(await sellerWs.auth(seller.token)).toEqual({ type: 'ready', userId: seller.id });
    expect((await buyerWs.auth(buyer.token)).userId).toBe(buyer.id);
    expect((await strangerWs.auth(stranger.token)).userId).toBe(stranger.id);

    const deal = await createDeal(seller.token);
    await drain();
    const created = await sellerWs.next('create event', eventOf(deal.id, 'create'));
    expect(created.event).toMatchObject({
      dealId: deal.id,
      version: 1,
      state: 'draft',
      audience: [seller.id],
    });

    const joined = await t.call('POST', '/api/deals/join', {
      token: buyer.token,
      body: { code: deal.invite.code, address: REFUND },
    });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    const sellerAccepted = await t.call('POST', `/api/deals/${deal.id}/accept`, {
      token: seller.token,
      body: {},
    });
    expect(sellerAccepted.status, JSON.stringify(sellerAccepted.body)).toBe(200);
    const accepted = await t.call('POST', `/api/deals/${deal.id}/accept`, { token: buyer.token, body: {} });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    await drain();

    // The seller's acceptance comes first (the deal stays a draft), then the buyer's starts the deal.
    const startedOf = (m: { type: string; event?: Record<string, unknown> }) =>
      eventOf(deal.id, 'accept')(m) && m.event?.state === 'awaiting_payment';
    const acceptedEvent = await buyerWs.next('accept event', startedOf);
    expect(acceptedEvent.event.state).toBe('awaiting_payment');
    expect(acceptedEvent.event.audience).toEqual(expect.arrayContaining([seller.id, buyer.id]));
    await sellerWs.next('accept event', startedOf);
    // The buyer was connected when the deal was created but not yet in its audience.
    expect(eventsFor(buyerWs, deal.id).map((e) => e.action)).toEqual(['join', 'accept', 'accept']);
    expect(eventsFor(sellerWs, deal.id).map((e) => e.action)).toEqual(['create', 'join', 'accept', 'accept']);

    // Events go out in order on one channel: once the stranger has its own later event, any event of the
    // seller's deal would have arrived before it.
    const own = await createDeal(stranger.token);
    await drain();
    await strangerWs.next("the stranger's own event", eventOf(own.id, 'create'));
    expect(eventsFor(strangerWs, deal.id)).toEqual([]);
    expect(eventsFor(sellerWs, own.id)).toEqual([]);
  });

  it('lets operators subscribe to every deal and refuses everyone else', async () => {
    const [someone, operatorToken] = await Promise.all([user(), t.signIn(OPERATOR_TG)]);
    const [someoneWs, operatorWs] = await Promise.all([live(), live()]);
    await someoneWs.auth(someone.token);
    await operatorWs.auth(operatorToken);

    someoneWs.send({ type: 'subscribe', scope: 'all' });
    expect(await someoneWs.next('refusal', (m) => m.type === 'error')).toMatchObject({
      code: 'operator_only',
    });
    operatorWs.send({ type: 'subscribe', scope: 'all' });
    expect(await operatorWs.next('subscribed', (m) => m.type === 'subscribed')).toEqual({
      type: 'subscribed',
      scope: 'all',
    });

    const deal = await createDeal(someone.token);
    await drain();
    const seen = await operatorWs.next("another user's deal event", eventOf(deal.id, 'create'));
    expect(seen.event.audience).toEqual([someone.id]);
    await someoneWs.next('own event', eventOf(deal.id, 'create'));

    // The refused subscription stayed refused: someone sees no deal but their own.
    const other = await user();
    const otherDeal = await createDeal(other.token);
    await drain();
    await operatorWs.next('the next deal event', eventOf(otherDeal.id, 'create'));
    expect(eventsFor(operatorWs, otherDeal.id)).toHaveLength(1);
    expect(eventsFor(someoneWs, otherDeal.id)).toEqual([]);
  });

  it('closes with 4401 on a wrong token, and refuses a wrong Authorization header with 401', async () => {
    const wrong = await live();
    wrong.send({ type: 'auth', token: UNKNOWN_TOKEN });
    expect(await wrong.closed).toEqual({ code: 4401, reason: 'session_invalid' });

    const garbage = await live();
    garbage.send({ type: 'auth', token: 'not a token at all' });
    expect(await garbage.closed).toEqual({ code: 4401, reason: 'session_invalid' });

    await expect(
      live(t.url, { headers: { authorization: `Bearer ${UNKNOWN_TOKEN}` } }),
    ).rejects.toMatchObject({
      status: 401,
    });
    await expect(live(t.url, { headers: { authorization: 'tma hash=00' } })).rejects.toMatchObject({
      status: 401,
    });
  });

  it('accepts a valid Authorization header on the upgrade and answers ready without an auth message', async () => {
    const someone = await user();
    const client = await live(t.url, { headers: { authorization: `Bearer ${someone.token}` } });
    expect(await client.next('ready', (m) => m.type === 'ready')).toEqual({
      type: 'ready',
      userId: someone.id,
    });
    client.send({ type: 'auth', token: someone.token });
    expect(await client.next('error', (m) => m.type === 'error')).toMatchObject({
      code: 'already_authenticated',
    });
  });

  it('answers malformed, unknown and premature messages with errors and keeps the connection', async () => {
    const client = await live();
    const errorNo = (n: number) => client.next(`error ${n}`, (m) => m.type === 'error' && --n === 0);
    const sent: Array<[unknown, string]> = [
      ['{not json', 'message_malformed'],
      ['42', 'message_malformed'],
      [{ hello: 'world' }, 'message_malformed'],
      [{ type: 'nonsense' }, 'unknown_message'],
      [{ type: 'auth' }, 'message_malformed'],
      ['{"type":"ping","__proto__":{"polluted":1}}', 'message_malformed'],
      ['{"type":"ping","constructor":{"prototype":{"polluted":1}}}', 'message_malformed'],
      [{ type: 'subscribe', scope: 'all' }, 'auth_required'],
    ];
    for (const [message] of sent) client.send(message);
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    for (const [i, [, code]] of sent.entries()) expect((await errorNo(i + 1)).code).toBe(code);
    expect((await errorNo(sent.length + 1)).code).toBe('message_malformed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    client.send({ type: 'ping' });
    expect(await client.next('pong', (m) => m.type === 'pong')).toEqual({ type: 'pong' });
    const someone = await user();
    expect((await client.auth(someone.token)).userId).toBe(someone.id);
  });

  it('closes a connection that sends a message over 4 KB', async () => {
    const client = await live();
    client.send({ type: 'auth', token: 'x'.repeat(5000) });
    expect((await client.closed).code).toBe(1009);
  });

  it('refuses other upgrade paths with 404 and foreign origins with 403', async () => {
    await expect(live(t.url, { path: '/api/other' })).rejects.toMatchObject({ status: 404 });
    await expect(live(t.url, { path: '/api/wsx' })).rejects.toMatchObject({ status: 404 });
    await expect(live(t.url, { path: '/api/ws/' })).rejects.toMatchObject({ status: 404 });
    await expect(live(t.url, { headers: { origin: 'https://evil.example' } })).rejects.toMatchObject({
      status: 403,
    });
    const fromApp = await live(t.url, { headers: { origin: 'http://app.test' } });
    fromApp.send({ type: 'ping' });
    await fromApp.next('pong', (m) => m.type === 'pong');
  });

  it('drops malformed events from the channel and keeps delivering', async () => {
    const seller = await user();
    const client = await live();
    await client.auth(seller.token);
    const forged = {
      id: 'not-a-uuid',
      dealId: '0b8f2a52-3d1e-4c53-9a47-0d6f0c7c2f11',
      audience: [seller.id],
      action: 'create',
    };
    await t.redis.redis.publish(channel, JSON.stringify(forged));
    await t.redis.redis.publish(channel, '{not json');
    const deal = await createDeal(seller.token);
    await drain();
    await client.next('the real event', eventOf(deal.id, 'create'));
    expect(client.messages.filter((m) => m.type === 'deal.event')).toHaveLength(1);
    // The process is alive and serving.
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });

  it('documents the WebSocket in the OpenAPI document', async () => {
    const res = await t.call('GET', '/api/openapi.json');
    const ws = res.body.paths['/api/ws'].get;
    expect(ws.description).toContain('{"type":"auth","token":"<session token>"}');
    const serverTypes = ws.responses[101]['x-server-messages'].oneOf.map(
      (s: { properties: { type: { const: string } } }) => s.properties.type.const,
    );
    expect(serverTypes).toEqual(expect.arrayContaining(['ready', 'deal.event', 'error', 'reconnect']));
    expect(ws.responses[101]['x-close-codes']).toMatchObject({ 1012: 'reconnect', 4401: 'session_invalid' });
  });
});

describe('live connections over time (a hub with short timers)', () => {
  it('closes a connection that never authenticates', async () => {
    const { url } = await ownHub({ authTimeoutMs: 100 });
    const client = await live(url);
    expect(await client.closed).toEqual({ code: 4408, reason: 'auth_timeout' });
    expect(client.messages).toEqual([]);
  });

  it('closes a connection whose session is revoked, and only that one', async () => {
    const { url } = await ownHub({ sessionCheckMs: 50 });
    const [revoked, kept] = await Promise.all([user(), user()]);
    const [revokedWs, keptWs] = await Promise.all([live(url), live(url)]);
    await revokedWs.auth(revoked.token);
    await keptWs.auth(kept.token);
    expect((await t.call('POST', '/api/auth/logout', { token: revoked.token })).status).toBe(204);
    expect(await revokedWs.closed).toEqual({ code: 4401, reason: 'session_invalid' });
    keptWs.send({ type: 'ping' });
    await keptWs.next('pong', (m) => m.type === 'pong');
    expect(keptWs.socket.readyState).toBe(keptWs.socket.OPEN);
  });

  it('terminates a connection that does not answer pings', async () => {
    // The auth timeout is out of the way: only the heartbeat can end this connection.
    const { url } = await ownHub({ heartbeatMs: 50, authTimeoutMs: 60_000 });
    const silent = await live(url, { autoPong: false });
    expect((await silent.closed).code).toBe(1006);
    expect(silent.messages).toEqual([]);
  });

  it('closes a connection that floods messages', async () => {
    const { url } = await ownHub({ maxMessagesPerHeartbeat: 5 });
    const client = await live(url);
    for (let i = 0; i < 20; i++) client.send({ type: 'ping' });
    expect(await client.closed).toEqual({ code: 1008, reason: 'rate_limited' });
    expect(client.messages.filter((m) => m.type === 'pong')).toHaveLength(5);
  });

  it('caps the connections of one user', async () => {
    const { url } = await ownHub({ maxSocketsPerUser: 2 });
    const someone = await user();
    const [a, b, c] = await Promise.all([live(url), live(url), live(url)]);
    await a.auth(someone.token);
    await b.auth(someone.token);
    c.send({ type: 'auth', token: someone.token });
    expect(await c.closed).toEqual({ code: 4429, reason: 'too_many_connections' });
    a.socket.close();
    await a.closed;
    const d = await live(url);
    expect((await d.auth(someone.token)).userId).toBe(someone.id);
  });

  it('tells clients to resync after losing the event feed, and delivers again', async () => {
    let subscriber: Redis | undefined;
    const { url } = await ownHub({
      createSubscriber: () => {
        subscriber = createRedis(t.redis.url, 'worker', 'test-live-subscriber');
        return subscriber;
      },
    });
    const seller = await user();
    const client = await live(url);
    await client.auth(seller.token);
    await waitForSubscribers(t.redis.redis, channel, 2);
    subscriber?.disconnect(true);
    await client.next('resync', (m) => m.type === 'resync');
    await waitForSubscribers(t.redis.redis, channel, 2);
    const deal = await createDeal(seller.token);
    await drain();
    await client.next('an event after the feed came back', eventOf(deal.id, 'create'));
  });

  it('on close, hints every client to reconnect, closes them with 1012 and refuses new upgrades', async () => {
    const { url, hub } = await ownHub({ reconnectJitterMs: 1000 });
    const someone = await user();
    const [ready, pending] = await Promise.all([live(url), live(url)]);
    await ready.auth(someone.token);
    await hub.close();
    for (const client of [ready, pending]) {
      expect(await client.closed).toEqual({ code: 1012, reason: 'reconnect' });
      const hint = client.messages.at(-1);
      expect(hint.type).toBe('reconnect');
      expect(hint.retryAfterMs).toBeGreaterThanOrEqual(0);
      expect(hint.retryAfterMs).toBeLessThan(1000);
    }
    await expect(live(url)).rejects.toMatchObject({ status: 503 });
  });
});
