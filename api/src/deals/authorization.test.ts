import { randomUUID } from 'node:crypto';
import type { Actor } from '@amanat/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARBITRATOR_TG,
  OPERATOR_TG,
  REFUND_ADDRESS as REFUND,
  startTestApi,
  type TestApi,
} from '../testing.ts';

/** Who may see and do what on a deal: strangers see nothing, parties only their role's actions. */

const SYSTEM: Actor = { kind: 'system', component: 'test' };
const PRICE = 500_000_000n;

/** Every deal action with a body it accepts, so only who and when decide the answer. */
const ACTIONS: ReadonlyArray<[string, Record<string, unknown>]> = [
  ['accept', {}],
  ['address', { address: REFUND }],
  ['cancel', { reason: 'changed my mind' }],
  ['deliver', {}],
  ['confirm', {}],
  ['dispute', { reason: 'not as described' }],
  ['dispute/messages', { text: 'hello' }],
  ['resolve', { outcome: 'refund' }],
];

let t: TestApi;
let seller: string;
let buyer: string;
let stranger: string;
let arbitrator: string;
let operator: string;

beforeAll(async () => {
  t = await startTestApi();
  [seller, buyer, stranger, arbitrator, operator] = await Promise.all([
    t.signIn(300_001),
    t.signIn(300_002),
    t.signIn(300_003),
    t.signIn(ARBITRATOR_TG),
    t.signIn(OPERATOR_TG),
  ]);
});
afterAll(async () => {
  await t?.close();
});

const post = (path: string, token: string | undefined, body: unknown = {}) =>
  t.call('POST', path, { ...(token ? { token } : {}), body });

const draftDeal = (creator = seller) => t.createDeal(creator, { title: 'Camera' });
const awaitingPayment = (s = seller, b = buyer) => t.startDeal(s, b, { title: 'Camera' });

async function fundedDeal(s = seller, b = buyer) {
  const deal = await awaitingPayment(s, b);
  await t.api.ctx.store.act(
    deal.id,
    { type: 'record_funding', funding: 'funded', confirmed: PRICE, confirming: 0n, reviewReasons: [] },
    SYSTEM,
  );
  return deal;
}

async function disputedDeal(s = seller, b = buyer) {
  const deal = await fundedDeal(s, b);
  const res = await post(`/api/deals/${deal.id}/dispute`, b, { reason: 'broken' });
  expect(res.status).toBe(200);
  return res.body;
}

const versionOf = async (id: string) =>
  (await t.db.pool.query('SELECT version FROM deals WHERE id = $1', [id])).rows[0].version as number;

describe('strangers', () => {
  it('get the same 404 for GET, activity and every action on a deal as for a deal that does not exist', async () => {
    for (const deal of [await draftDeal(), await disputedDeal()]) {
      const before = await versionOf(deal.id);
      const missing = randomUUID();
      const pairs: Array<[string, string, unknown]> = [
        ['GET', '', undefined],
        ['GET', '/activity', undefined],
        ...ACTIONS.map(([path, body]): [string, string, unknown] => ['POST', `/${path}`, body]),
      ];
      for (const [method, suffix, body] of pairs) {
        const opts = { token: stranger, ...(body !== undefined ? { body } : {}) };
        const theirs = await t.call(method, `/api/deals/${deal.id}${suffix}`, opts);
        const none = await t.call(method, `/api/deals/${missing}${suffix}`, opts);
        expect(theirs.status, `${method} ${suffix}`).toBe(404);
        expect(theirs.body.code).toBe('deal_not_found');
        expect(theirs.body).toEqual(none.body);
        expect(theirs.headers.get('content-type')).toBe(none.headers.get('content-type'));
      }
      expect(await versionOf(deal.id)).toBe(before);
    }
  });

  it("do not find someone else's deal in their own listing", async () => {
    const deal = await draftDeal();
    const list = await t.call('GET', '/api/deals?limit=100', { token: stranger });
    expect(list.status).toBe(200);
    expect(list.body.deals.map((d: { id: string }) => d.id)).not.toContain(deal.id);
  });
});

describe('parties', () => {
  it('get 403 actor_not_permitted for an action their role may not take', async () => {
    const funded = await fundedDeal();
    const buyerDelivers = await post(`/api/deals/${funded.id}/deliver`, buyer);
    expect(buyerDelivers.status).toBe(403);
    expect(buyerDelivers.body.code).toBe('actor_not_permitted');

    const sellerConfirms = await post(`/api/deals/${funded.id}/confirm`, seller);
    expect(sellerConfirms.status).toBe(403);
    expect(sellerConfirms.body.code).toBe('actor_not_permitted');

    const disputed = await disputedDeal();
    for (const party of [seller, buyer]) {
      const resolves = await post(`/api/deals/${disputed.id}/resolve`, party, { outcome: 'release' });
      expect(resolves.status).toBe(403);
      expect(resolves.body.code).toBe('actor_not_permitted');
    }
    const detail = await t.call('GET', `/api/deals/${disputed.id}`, { token: seller });
    expect(detail.body.state).toBe('disputed');
    const fundedNow = await t.call('GET', `/api/deals/${funded.id}`, { token: seller });
    expect(fundedNow.body.state).toBe('funded');
  });

  it('get 409 for an action their role may take but not in this state', async () => {
    const deal = await awaitingPayment();
    const early = await post(`/api/deals/${deal.id}/deliver`, seller);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('action_not_allowed_in_state');

    const confirm = await post(`/api/deals/${deal.id}/confirm`, buyer);
    expect(confirm.status).toBe(409);
    const dispute = await post(`/api/deals/${deal.id}/dispute`, buyer, { reason: 'x' });
    expect(dispute.status).toBe(409);
    const twice = await post(`/api/deals/${deal.id}/accept`, buyer);
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('action_not_allowed_in_state');

    const draft = await draftDeal();
    const alone = await post(`/api/deals/${draft.id}/deliver`, seller);
    expect(alone.status).toBe(409);
  });

  it('get 409 version_conflict when the deal moved on since the version they saw', async () => {
    const deal = await fundedDeal();
    const stale = await post(`/api/deals/${deal.id}/deliver`, seller, { version: deal.version });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('version_conflict');
    const current = await t.call('GET', `/api/deals/${deal.id}`, { token: seller });
    const fresh = await post(`/api/deals/${deal.id}/deliver`, seller, { version: current.body.version });
    expect(fresh.status).toBe(200);
  });
});

describe('arbitrators and operators', () => {
  it('may view any deal and its activity, without the invite', async () => {
    const deal = await draftDeal();
    for (const [token, role] of [
      [arbitrator, 'arbitrator'],
      [operator, 'operator'],
    ] as const) {
      const res = await t.call('GET', `/api/deals/${deal.id}`, { token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: deal.id, yourRole: role, invite: null });
      const activity = await t.call('GET', `/api/deals/${deal.id}/activity`, { token });
      expect(activity.status).toBe(200);
      expect(activity.body.verification.ok).toBe(true);
    }
  });

  it('may not take party actions on deals they are not a party to', async () => {
    const deal = await fundedDeal();
    for (const [token, action, body] of [
      [arbitrator, 'deliver', {}],
      [arbitrator, 'confirm', {}],
      [operator, 'deliver', {}],
      [operator, 'cancel', {}],
      [arbitrator, 'dispute', { reason: 'x' }],
    ] as const) {
      const res = await post(`/api/deals/${deal.id}/${action}`, token, body);
      expect(res.status, `${action}`).toBe(403);
      expect(res.body.code).toBe('actor_not_permitted');
    }
    const detail = await t.call('GET', `/api/deals/${deal.id}`, { token: seller });
    expect(detail.body.state).toBe('funded');
  });

  it('an operator who is no arbitrator may not resolve a dispute', async () => {
    const deal = await disputedDeal();
    const res = await post(`/api/deals/${deal.id}/resolve`, operator, { outcome: 'refund' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('actor_not_permitted');
  });

  it('an arbitrator who is a party to the deal may not resolve it', async () => {
    const deal = await disputedDeal(arbitrator, buyer);
    const res = await post(`/api/deals/${deal.id}/resolve`, arbitrator, { outcome: 'release' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('arbitrator_is_party');
    // As a party they speak in the dispute as the seller, not as its judge.
    const msg = await post(`/api/deals/${deal.id}/dispute/messages`, arbitrator, { text: 'mine' });
    expect(msg.status).toBe(200);
    expect(msg.body.yourRole).toBe('seller');
    const activity = await t.call('GET', `/api/deals/${deal.id}/activity`, { token: buyer });
    expect(activity.body.entries.at(-1).actor.role).toBe('seller');
    expect((await t.call('GET', `/api/deals/${deal.id}`, { token: buyer })).body.state).toBe('disputed');
  });

  it('scope=disputed is for arbitrators only, scope=review for operators only', async () => {
    const disputed = await disputedDeal();
    const flagged = await draftDeal();
    await t.api.ctx.store.act(flagged.id, { type: 'flag_review', reason: 'test' }, SYSTEM);

    const asArbitrator = await t.call('GET', '/api/deals?scope=disputed&limit=100', { token: arbitrator });
    expect(asArbitrator.status).toBe(200);
    const listed = asArbitrator.body.deals.find((d: { id: string }) => d.id === disputed.id);
    expect(listed).toMatchObject({ state: 'disputed', yourRole: 'arbitrator' });
    expect(asArbitrator.body.deals.every((d: { state: string }) => d.state === 'disputed')).toBe(true);

    const asOperator = await t.call('GET', '/api/deals?scope=review&limit=100', { token: operator });
    expect(asOperator.status).toBe(200);
    expect(asOperator.body.deals.map((d: { id: string }) => d.id)).toEqual([flagged.id]);
    expect(asOperator.body.deals[0]).toMatchObject({ needsReview: true, yourRole: 'operator' });

    for (const [token, scope, code] of [
      [seller, 'disputed', 'arbitrator_only'],
      [operator, 'disputed', 'arbitrator_only'],
      [seller, 'review', 'operator_only'],
      [arbitrator, 'review', 'operator_only'],
    ] as const) {
      const res = await t.call('GET', `/api/deals?scope=${scope}`, { token });
      expect(res.status, `${scope}`).toBe(403);
      expect(res.body.code).toBe(code);
    }
  });
});

describe('what each viewer is shown', () => {
  it('parties see that staff review their deal, but not why; operators see the reasons', async () => {
    const deal = await fundedDeal();
    await t.api.ctx.store.act(deal.id, { type: 'flag_review', reason: 'denylisted_sender' }, SYSTEM);
    const asParty = await t.call('GET', `/api/deals/${deal.id}`, { token: buyer });
    expect(asParty.body).toMatchObject({ needsReview: true, reviewReasons: [] });
    const asOperator = await t.call('GET', `/api/deals/${deal.id}`, { token: operator });
    expect(asOperator.body).toMatchObject({ needsReview: true, reviewReasons: ['denylisted_sender'] });
  });
});

describe('authentication', () => {
  it('every deals route answers 401 without a session, and with an unknown one', async () => {
    const deal = await draftDeal();
    const dealRoutes = t.api.routes.filter((r) => r.path.startsWith('/api/deals'));
    expect(dealRoutes.length).toBeGreaterThanOrEqual(12);
    for (const route of dealRoutes) {
      const path = route.path.replace(':id', deal.id);
      const method = route.method.toUpperCase();
      const anonymous = await t.call(method, path);
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      expect(anonymous.body.code).toBe('auth_required');
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);

      const forged = await t.call(method, path, { token: 'not-a-session-token' });
      expect(forged.status).toBe(401);
      expect(forged.body.code).toBe('session_invalid');

      // A body does not get an anonymous caller past the gate either.
      if (route.method === 'post') {
        const withBody = await t.call(method, path, { body: { reason: 'x' } });
        expect(withBody.status).toBe(401);
      }
    }
    expect(await versionOf(deal.id)).toBe(1);
  });
});
