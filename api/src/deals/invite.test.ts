import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, REFUND_ADDRESS, startTestApi, type TestApi } from '../testing.ts';

/** An invite shows its terms to whoever holds the code, and nothing of the deal once it is taken. */

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /api/invites/:code', () => {
  it('shows the terms, the creator and the role left open', async () => {
    const seller = await t.signIn(62_001, { firstName: 'Sam', username: 'sam' });
    const deal = await t.createDeal(seller, { title: 'Road bike', description: 'Carbon frame' });
    const stranger = await t.signIn(62_002);
    const res = await t.call('GET', `/api/invites/${deal.invite.code}`, { token: stranger });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      code: deal.invite.code,
      title: 'Road bike',
      description: 'Carbon frame',
      creator: { role: 'seller', displayName: 'Sam', username: 'sam' },
      openRole: 'buyer',
      yourRole: null,
      price: deal.price,
      amountDue: deal.amountDue,
      display: { price: '500' },
      asset: { chainId: 31337, symbol: deal.asset.symbol },
      links: { webLink: `http://app.test/join/${deal.invite.code}` },
    });
    expect(JSON.stringify(res.body)).not.toContain('0x70997970');
    const own = await t.call('GET', `/api/invites/${deal.invite.code}`, { token: seller });
    expect(own.body.yourRole).toBe('seller');
  });

  it('says only "not available" once someone joined, and "not found" for unknown codes', async () => {
    const seller = await t.signIn(62_010);
    const deal = await t.createDeal(seller);
    const buyer = await t.signIn(62_011);
    const joined = await t.call('POST', '/api/deals/join', {
      token: buyer,
      body: { code: deal.invite.code, address: REFUND_ADDRESS },
    });
    expect(joined.status).toBe(200);
    const late = await t.signIn(62_012);
    expectProblem(
      await t.call('GET', `/api/invites/${deal.invite.code}`, { token: late }),
      409,
      'invite_not_available',
    );
    // The parties themselves still see what they agreed to.
    expect((await t.call('GET', `/api/invites/${deal.invite.code}`, { token: buyer })).body.yourRole).toBe(
      'buyer',
    );
    expectProblem(
      await t.call('GET', '/api/invites/NoSuchCode123', { token: late }),
      404,
      'invite_not_found',
    );
    expectProblem(await t.call('GET', '/api/invites/bad%20code', { token: late }), 400);
    expectProblem(await t.call('GET', `/api/invites/${deal.invite.code}`), 401, 'auth_required');
  });
});
