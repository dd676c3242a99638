import { randomUUID } from 'node:crypto';
import { DEAL_STATES, FUNDING_STATUSES, MAX_UINT256, parseAddress } from '@amanat/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DealRecord } from '../deals/record.ts';
import {
  baseUnits,
  legacyDealSchema,
  legacyDealToRecordFields,
  legacyUserSchema,
  toLegacyDeal,
  toLegacyUser,
} from './legacy-shape.ts';
import { SAMPLE_DEAL_IDS, sampleLegacyDeals, sampleLegacyUsers } from './samples.ts';

const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .filter((bytes) => bytes.some((b) => b !== 0))
  .map((bytes) => parseAddress(`0x${Buffer.from(bytes).toString('hex')}`));
const date = fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true });
const seconds = fc.integer({ min: 1, max: 10_000_000 });
const party = fc.record({
  userId: fc.uuid({ version: 4 }),
  address: fc.option(address),
  acceptedAt: fc.option(date),
});

const dealRecord: fc.Arbitrary<{ deal: DealRecord; telegramIds: Map<string, bigint> }> = fc
  .record({
    price: fc.bigInt({ min: 1n, max: 2n ** 200n }),
    feeSplit: fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.bigInt({ min: 0n, max: 2n ** 64n })),
    tolerance: fc.bigInt({ min: 0n, max: 2n ** 64n }),
    other: fc.tuple(fc.bigInt({ min: 0n, max: MAX_UINT256 }), fc.bigInt({ min: 0n, max: MAX_UINT256 })),
    confirmed: fc.bigInt({ min: 0n, max: MAX_UINT256 }),
    state: fc.constantFrom(...DEAL_STATES),
    funding: fc.constantFrom(...FUNDING_STATUSES),
    token: fc.oneof(fc.constant('native' as const), address),
    seller: fc.option(party),
    buyer: party,
    telegram: fc.tuple(
      fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
      fc.option(fc.bigInt({ min: 1n, max: 2n ** 40n })),
    ),
    deposit: fc.option(fc.record({ address, index: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }) })),
    deadlines: fc.record({
      payment: fc.option(date),
      delivery: fc.option(date),
      inspection: fc.option(date),
    }),
    periods: fc.record({
      paymentWindowSec: seconds,
      deliveryPeriodSec: seconds,
      inspectionPeriodSec: seconds,
    }),
    text: fc.tuple(fc.string(), fc.string(), fc.array(fc.string({ minLength: 1 }), { maxLength: 3 })),
    needsReview: fc.boolean(),
    feeBps: fc.integer({ min: 0, max: 10_000 }),
    version: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    times: fc.tuple(date, date),
  })
  .map((g) => {
    const sellerFee = g.feeSplit[0] % (g.price + 1n);
    const buyerFee = g.feeSplit[1];
    const amountDue = g.price + buyerFee;
    const seller = g.seller && { ...g.seller, userId: g.seller.userId };
    const buyer = { ...g.buyer, userId: seller?.userId === g.buyer.userId ? randomUUID() : g.buyer.userId };
    const telegramIds = new Map<string, bigint>();
    if (seller) telegramIds.set(seller.userId, g.telegram[0]);
    // A buyer without a Telegram id (a web-only user) is written with telegramId null.
    if (g.telegram[1] !== null && g.telegram[1] !== g.telegram[0])
      telegramIds.set(buyer.userId, g.telegram[1]);
    const deal: DealRecord = {
      id: randomUUID(),
      inviteCode: 'ABCDEFGH23',
      title: g.text[0],
      description: g.text[1],
      state: g.state,
      needsReview: g.needsReview,
      reviewReasons: g.text[2],
      version: g.version,
      asset: { chainId: 137, token: g.token },
      quote: { price: g.price, fee: sellerFee + buyerFee, sellerFee, buyerFee, amountDue },
      feeTerms: { feeBps: g.feeBps, feeMin: g.other[0], feePayer: buyerFee > 0n ? 'split' : 'seller' },
      underpayTolerance: g.tolerance % amountDue,
      dustThreshold: g.other[1],
      periods: g.periods,
      deadlines: g.deadlines,
      funding: g.funding,
      confirmedAmount: g.confirmed,
      confirmingAmount: g.confirmed / 3n,
      closedAt: g.times[1],
      createdBy: seller?.userId ?? buyer.userId,
      seller,
      buyer,
      deposit: g.deposit,
      logSeq: 3,
      logHead: 'f'.repeat(64),
      createdAt: g.times[0],
      updatedAt: g.times[1],
    };
    return { deal, telegramIds };
  });

describe('legacy deal shape', () => {
  it('a PostgreSQL deal survives the trip to the legacy shape and back, to the base unit', () => {
    fc.assert(
      fc.property(dealRecord, ({ deal, telegramIds }) => {
        const doc = toLegacyDeal(deal, telegramIds);
        expect(legacyDealSchema.parse(doc)).toEqual(doc);
        const back = legacyDealToRecordFields(doc);
        const { seller, buyer, createdBy: _c, logSeq: _s, logHead: _h, ...fields } = deal;
        expect(back.record).toEqual(fields);
        const partyBack = (p: DealRecord['seller']) =>
          p && {
            legacyUserId: p.userId,
            telegramId: telegramIds.get(p.userId) ?? null,
            address: p.address,
            acceptedAt: p.acceptedAt,
          };
        expect(back.seller).toEqual(partyBack(seller));
        expect(back.buyer).toEqual(partyBack(buyer));
      }),
      { numRuns: 200 },
    );
  });

  it('accepts the samples, and amounts written as 0100 or 100.0 mean 100 base units', () => {
    for (const doc of sampleLegacyDeals()) expect(legacyDealSchema.safeParse(doc).success).toBe(true);
    for (const doc of sampleLegacyUsers()) expect(legacyUserSchema.safeParse(doc).success).toBe(true);
    const [draft] = sampleLegacyDeals();
    const padded = { ...draft, price: '0250000000', amountDue: '250000000.00', confirmedAmount: '0.0' };
    const parsed = legacyDealSchema.parse(padded);
    expect(legacyDealToRecordFields(parsed).record.quote.price).toBe(250_000_000n);
    expect(baseUnits('100.000')).toBe(100n);
  });

  it('names every problem of a broken document, including amounts that are not whole base units', () => {
    const [draft] = sampleLegacyDeals();
    const broken = {
      ...draft,
      _id: SAMPLE_DEAL_IDS.draft.toUpperCase(),
      price: '250.5',
      fee: 2_500_000,
      feeMin: '1e6',
      dustThreshold: '-1',
      seller: { ...draft?.seller, telegramId: '12ab', address: '0x70997970c51812dc3A010C7d01b50e0d17dc79C8' },
    };
    const result = legacyDealSchema.safeParse(broken);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        '_id',
        'price',
        'fee',
        'feeMin',
        'dustThreshold',
        'seller.telegramId',
        'seller.address',
      ]),
    );
  });

  it('refuses amounts that do not add up and deals without a party', () => {
    const [, split] = sampleLegacyDeals();
    const issuesOf = (doc: unknown) =>
      legacyDealSchema.safeParse(doc).error?.issues.map((i) => i.path.join('.'));
    expect(issuesOf({ ...split, amountDue: '1004999999' })).toEqual(['amountDue']);
    expect(issuesOf({ ...split, fee: '10000001' })).toEqual(['fee']);
    expect(issuesOf({ ...split, underpayTolerance: '1005000000' })).toEqual(['underpayTolerance']);
    expect(issuesOf({ ...split, seller: null, buyer: null })).toEqual(['seller']);
    expect(issuesOf({ ...split, buyer: { ...split?.buyer, userId: split?.seller?.userId } })).toEqual([
      'buyer',
    ]);
  });

  it('writes users with their Telegram id as a string of digits', () => {
    const doc = toLegacyUser({
      id: randomUUID(),
      telegramId: 9_007_199_254_740_993n,
      username: null,
      displayName: 'Aru',
      language: 'kk',
      telegramReachable: true,
      version: 4,
    });
    expect(doc).toMatchObject({ telegramId: '9007199254740993', username: null, version: 4 });
  });

  it('a row that cannot be expressed in the legacy shape fails with its id, not silently', () => {
    const deal = fc.sample(dealRecord, 1)[0]?.deal as DealRecord;
    expect(() => toLegacyDeal({ ...deal, version: 0 }, new Map())).toThrow(
      `deal ${deal.id} does not fit the legacy shape`,
    );
  });
});
