import type { Actor, AssetRef } from '@amanat/core';
import type { Pool } from '../db.ts';
import { upsertTelegramUser } from '../users.ts';
import type { DealStore, NewDeal } from './store.ts';

export const LOCAL_USDT: AssetRef = { chainId: 31337, token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
export const SELLER_ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
export const BUYER_ADDRESS = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

let nextTelegramId = BigInt(Date.now()) * 1000n;

export async function makeParties(pool: Pool) {
  nextTelegramId += 2n;
  const seller = await upsertTelegramUser(pool, { telegramId: nextTelegramId, username: 'seller' });
  const buyer = await upsertTelegramUser(pool, { telegramId: nextTelegramId + 1n, username: 'buyer' });
  return {
    seller,
    buyer,
    asSeller: { kind: 'user', userId: seller.id, role: 'seller' } satisfies Actor,
    asBuyer: { kind: 'user', userId: buyer.id, role: 'buyer' } satisfies Actor,
  };
}

export const newDealInput = (creatorId: string, over: Partial<NewDeal> = {}): NewDeal => ({
  creatorId,
  creatorRole: 'seller',
  creatorAddress: SELLER_ADDRESS,
  title: 'Used bicycle',
  description: 'Blue, 21 gears',
  asset: LOCAL_USDT,
  price: 100_000_000n,
  feeTerms: { feeBps: 100, feeMin: 1_000_000n, feePayer: 'seller' },
  underpayTolerance: 0n,
  dustThreshold: 10_000n,
  periods: { paymentWindowSec: 3600, deliveryPeriodSec: 7200, inspectionPeriodSec: 3600 },
  ...over,
});

/** A deal both parties accepted, now awaiting payment. */
export async function awaitingPaymentDeal(
  store: DealStore,
  pool: Pool,
  derive?: (i: bigint) => string,
  over: Partial<NewDeal> = {},
) {
  const parties = await makeParties(pool);
  const { deal } = await store.create(newDealInput(parties.seller.id, over));
  await store.act(deal.id, { type: 'join', role: 'buyer' }, parties.asBuyer, { partyAddress: BUYER_ADDRESS });
  await store.act(deal.id, { type: 'accept' }, parties.asSeller);
  const accepted = await store.act(deal.id, { type: 'accept' }, parties.asBuyer, {
    ...(derive ? { deriveDepositAddress: derive } : {}),
  });
  return { ...parties, deal: accepted.deal };
}
