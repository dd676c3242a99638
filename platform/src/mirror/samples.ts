import type { LegacyDealDoc, LegacyUserDoc } from './legacy-shape.ts';

/**
 * Legacy documents as the old service stored them, for tests: a seller's draft, a deal the buyer
 * started with a split fee that awaits payment, and a delivered native-coin deal that was overpaid late
 * and needs review. Functions, so every test gets copies it may change.
 */

export const SAMPLE_USER_IDS = {
  aigerim: 'e4c7a9b1-2d3f-4a5e-b6c7-d8e9f0a1b2c3',
  timur: '7f3a2b1c-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  dana: '2a9c8b7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d',
} as const;

export const SAMPLE_DEAL_IDS = {
  draft: '0b5f3c1e-7a42-4d1b-9c3e-2f6a8d4b1e70',
  awaitingPayment: '5d2e8a14-3c6b-4f09-a7d1-8e4b2c9f6a31',
  delivered: 'c8e1f4a2-9b37-4e5d-8a6c-1d3f7b2e9c04',
} as const;

const at = (iso: string) => new Date(iso);

export const sampleLegacyUsers = (): LegacyUserDoc[] => [
  {
    _id: SAMPLE_USER_IDS.aigerim,
    telegramId: '100200300',
    username: 'aigerim_design',
    displayName: 'Aigerim',
    language: 'kk',
    version: 2,
  },
  {
    _id: SAMPLE_USER_IDS.timur,
    telegramId: '100200301',
    username: null,
    displayName: 'Timur',
    language: 'ru',
    version: 1,
  },
  {
    _id: SAMPLE_USER_IDS.dana,
    telegramId: '5550001234',
    username: 'dana',
    displayName: 'Dana',
    language: 'en',
    version: 1,
  },
];

export const sampleLegacyDeals = (): LegacyDealDoc[] => [
  {
    _id: SAMPLE_DEAL_IDS.draft,
    code: 'K7M2QX9PRT',
    title: 'Logo design',
    description: 'Three concepts, vector files',
    status: 'draft',
    needsReview: false,
    reviewReasons: [],
    chainId: 1,
    token: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
    price: '250000000',
    amountDue: '250000000',
    fee: '2500000',
    sellerFee: '2500000',
    buyerFee: '0',
    feeBps: 100,
    feeMin: '1000000',
    feePayer: 'seller',
    underpayTolerance: '0',
    dustThreshold: '10000',
    confirmedAmount: '0',
    confirmingAmount: '0',
    windows: { paymentSec: 3600, deliverySec: 604_800, inspectionSec: 259_200 },
    deadlines: { payment: null, delivery: null, inspection: null },
    closedAt: null,
    seller: {
      userId: SAMPLE_USER_IDS.aigerim,
      telegramId: '100200300',
      address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      acceptedAt: at('2025-03-01T10:00:00.000Z'),
    },
    buyer: null,
    depositAddress: null,
    funding: 'unpaid',
    hasPayments: false,
    createdAt: at('2025-03-01T10:00:00.000Z'),
    updatedAt: at('2025-03-01T10:00:00.000Z'),
    version: 1,
  },
  {
    _id: SAMPLE_DEAL_IDS.awaitingPayment,
    code: 'H3NWZ8A4LE',
    title: 'Vintage camera',
    description: 'Zenit-E with a Helios-44 lens',
    status: 'awaiting_payment',
    needsReview: false,
    reviewReasons: [],
    chainId: 137,
    token: '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359',
    price: '1000000000',
    amountDue: '1005000000',
    fee: '10000000',
    sellerFee: '5000000',
    buyerFee: '5000000',
    feeBps: 100,
    feeMin: '1000000',
    feePayer: 'split',
    underpayTolerance: '1000',
    dustThreshold: '10000',
    confirmedAmount: '0',
    confirmingAmount: '0',
    windows: { paymentSec: 7200, deliverySec: 432_000, inspectionSec: 172_800 },
    deadlines: { payment: at('2025-04-02T14:30:00.000Z'), delivery: null, inspection: null },
    closedAt: null,
    seller: {
      userId: SAMPLE_USER_IDS.timur,
      telegramId: '100200301',
      address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      acceptedAt: at('2025-04-02T12:30:00.000Z'),
    },
    // The buyer started this deal: their acceptance is its creation time.
    buyer: {
      userId: SAMPLE_USER_IDS.dana,
      telegramId: '5550001234',
      address: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
      acceptedAt: at('2025-04-02T12:00:00.000Z'),
    },
    depositAddress: { address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906', index: '7' },
    funding: 'unpaid',
    hasPayments: false,
    createdAt: at('2025-04-02T12:00:00.000Z'),
    updatedAt: at('2025-04-02T12:30:00.000Z'),
    version: 3,
  },
  {
    _id: SAMPLE_DEAL_IDS.delivered,
    code: 'Q2RT5YBV8C',
    title: 'Translation of a contract',
    description: 'English to Kazakh, 12 pages',
    status: 'delivered',
    needsReview: true,
    reviewReasons: ['late_payment'],
    chainId: 56,
    token: 'native',
    price: '1500000000000000000',
    amountDue: '1500000000000000000',
    fee: '22500000000000000',
    sellerFee: '22500000000000000',
    buyerFee: '0',
    feeBps: 150,
    feeMin: '500000000000000',
    feePayer: 'seller',
    underpayTolerance: '0',
    dustThreshold: '1000000000000',
    confirmedAmount: '1600000000000000000',
    confirmingAmount: '0',
    windows: { paymentSec: 3600, deliverySec: 259_200, inspectionSec: 86_400 },
    deadlines: {
      payment: at('2025-05-10T09:00:00.000Z'),
      delivery: at('2025-05-13T09:20:00.000Z'),
      inspection: at('2025-05-12T18:00:00.000Z'),
    },
    closedAt: at('2025-05-11T18:00:00.000Z'),
    seller: {
      userId: SAMPLE_USER_IDS.aigerim,
      telegramId: '100200300',
      address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      acceptedAt: at('2025-05-10T07:55:00.000Z'),
    },
    buyer: {
      userId: SAMPLE_USER_IDS.timur,
      telegramId: '100200301',
      address: null,
      acceptedAt: at('2025-05-10T08:00:00.000Z'),
    },
    depositAddress: { address: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc', index: '12' },
    funding: 'overpaid',
    hasPayments: true,
    createdAt: at('2025-05-10T07:55:00.000Z'),
    updatedAt: at('2025-05-11T18:00:00.000Z'),
    version: 7,
  },
];

/** Documents as a database cursor hands them out. */
export async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}
