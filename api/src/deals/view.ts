import { type AssetRegistry, formatAmount, type Token } from '@amanat/core';
import type { DealView, Payment } from '@amanat/core/api';
import type { DealParty, DealPaymentRow, DealRecord, Queryable } from '@amanat/platform';
import type { Caller } from '../http/route.ts';

export type Viewer = 'seller' | 'buyer' | 'arbitrator' | 'operator';

export interface Names {
  get(userId: string): { displayName: string; username: string | null } | undefined;
}

/** Display names of the users a page of deals mentions, in one query. */
export async function loadNames(db: Queryable, deals: readonly DealRecord[]): Promise<Names> {
  const ids = [...new Set(deals.flatMap((d) => [d.seller?.userId, d.buyer?.userId]).filter(Boolean))];
  if (ids.length === 0) return new Map();
  const { rows } = await db.query({
    name: 'user-names',
    text: 'SELECT id, display_name, username FROM users WHERE id = ANY($1::uuid[])',
    values: [ids],
  });
  return new Map(rows.map((r) => [r.id, { displayName: r.display_name, username: r.username }]));
}

/** How the caller relates to a deal, or null when they may not see it at all (answered with 404). */
export function viewerOf(deal: DealRecord, caller: Caller): Viewer | null {
  if (deal.seller?.userId === caller.user.id) return 'seller';
  if (deal.buyer?.userId === caller.user.id) return 'buyer';
  if (caller.operator) return 'operator';
  if (caller.arbitrator) return 'arbitrator';
  return null;
}

export interface LinkConfig {
  botUsername: string;
  appName: string;
  appOrigin: string;
}

export const linkConfigOf = (config: {
  TELEGRAM_BOT_USERNAME: string;
  TELEGRAM_APP_NAME: string;
  APP_ORIGIN: string;
}): LinkConfig => ({
  botUsername: config.TELEGRAM_BOT_USERNAME,
  appName: config.TELEGRAM_APP_NAME,
  appOrigin: config.APP_ORIGIN,
});

export const inviteLinks = (code: string, links: LinkConfig) => ({
  code,
  telegramLink: `https://t.me/${links.botUsername}/${links.appName}?startapp=deal_${code}`,
  webLink: `${links.appOrigin}/join/${code}`,
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function tokenOf(registry: AssetRegistry, deal: DealRecord): Pick<Token, 'symbol' | 'decimals'> {
  // A token dropped from the registry after the deal was made still has its deal; show raw units.
  return registry.findToken(deal.asset) ?? { symbol: '?', decimals: 0 };
}

const party = (p: DealParty | null, names: Names) =>
  p
    ? {
        userId: p.userId,
        displayName: names.get(p.userId)?.displayName ?? '',
        username: names.get(p.userId)?.username ?? null,
        address: p.address,
        acceptedAt: iso(p.acceptedAt),
      }
    : null;

export function dealView(
  deal: DealRecord,
  viewer: Viewer,
  ctx: { registry: AssetRegistry; names: Names; links: LinkConfig },
): DealView {
  const token = tokenOf(ctx.registry, deal);
  const q = deal.quote;
  const isParty = viewer === 'seller' || viewer === 'buyer';
  return {
    id: deal.id,
    title: deal.title,
    description: deal.description,
    state: deal.state,
    needsReview: deal.needsReview,
    // Why staff look at a deal (a denylisted sender, say) is theirs to know; parties see that they do.
    reviewReasons: isParty ? [] : deal.reviewReasons,
    version: deal.version,
    asset: {
      chainId: deal.asset.chainId,
      token: deal.asset.token,
      symbol: token.symbol,
      decimals: token.decimals,
    },
    price: q.price.toString(),
    amountDue: q.amountDue.toString(),
    fee: q.fee.toString(),
    sellerFee: q.sellerFee.toString(),
    buyerFee: q.buyerFee.toString(),
    display: {
      price: formatAmount(q.price, token.decimals),
      amountDue: formatAmount(q.amountDue, token.decimals),
      fee: formatAmount(q.fee, token.decimals),
    },
    feeTerms: {
      feeBps: deal.feeTerms.feeBps,
      feeMin: deal.feeTerms.feeMin.toString(),
      feePayer: deal.feeTerms.feePayer,
    },
    periods: { ...deal.periods },
    deadlines: {
      payment: iso(deal.deadlines.payment),
      delivery: iso(deal.deadlines.delivery),
      inspection: iso(deal.deadlines.inspection),
    },
    funding: {
      status: deal.funding,
      confirmed: deal.confirmedAmount.toString(),
      confirming: deal.confirmingAmount.toString(),
      remaining: (q.amountDue > deal.confirmedAmount ? q.amountDue - deal.confirmedAmount : 0n).toString(),
    },
    seller: party(deal.seller, ctx.names),
    buyer: party(deal.buyer, ctx.names),
    depositAddress: deal.deposit?.address ?? null,
    yourRole: viewer,
    invite: isParty && deal.state === 'draft' ? inviteLinks(deal.inviteCode, ctx.links) : null,
    createdAt: deal.createdAt.toISOString(),
    updatedAt: deal.updatedAt.toISOString(),
  };
}

/** `head`: the latest block the chain's scanner has seen, for a pending payment's progress. */
export const paymentView = (p: DealPaymentRow, head: bigint | null = null): Payment => ({
  id: p.id,
  chainId: p.chainId,
  txHash: p.txHash,
  logIndex: p.logIndex,
  token: p.token,
  from: p.from,
  amount: p.amount,
  blockNumber: p.blockNumber,
  blockTimestamp: p.blockTimestamp,
  status: p.status,
  classification: p.classification,
  confirmations:
    p.status === 'pending' && head !== null
      ? Number(head >= BigInt(p.blockNumber) ? head - BigInt(p.blockNumber) + 1n : 0n)
      : null,
});
