import { formatAmount } from '@amanat/core';
import { inviteParams, invitePreviewSchema } from '@amanat/core/api';
import { type DealRecord, findDealIdByInviteCode } from '@amanat/platform';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../http/problem.ts';
import { defineRoute, type RouteDef } from '../http/route.ts';
import { inviteLinks, linkConfigOf, loadNames } from './view.ts';

/** The deal an invite code belongs to, or the 404 that joining and previewing both answer. */
export async function dealByInvite(ctx: ApiContext, code: string): Promise<DealRecord> {
  const id = await findDealIdByInviteCode(ctx.pool, code);
  const deal = id ? await ctx.store.get(id) : null;
  if (!deal) throw new ApiError(404, 'invite_not_found', 'No deal has this invite code');
  return deal;
}

/**
 * What an invite offers, for whoever holds its code: the terms they would agree to by joining, and
 * nothing of the deal's life (its state, payments, the other side's address). A used invite says only
 * that it can no longer be used, as joining does.
 */
export function inviteRoutes(ctx: ApiContext): RouteDef[] {
  const links = linkConfigOf(ctx.config);
  return [
    defineRoute({
      method: 'get',
      path: '/api/invites/:code',
      operationId: 'previewInvite',
      summary: 'The terms an invite offers, before joining',
      description: '404 `invite_not_found` for an unknown code, 409 `invite_not_available` once it was used.',
      tag: 'deals',
      auth: 'user',
      params: inviteParams,
      response: invitePreviewSchema,
      errors: [404, 409],
      handler: async ({ params, caller }) => {
        const deal = await dealByInvite(ctx, params.code);
        const yourRole =
          deal.seller?.userId === caller.user.id
            ? 'seller'
            : deal.buyer?.userId === caller.user.id
              ? 'buyer'
              : null;
        const creatorParty = deal.seller?.userId === deal.createdBy ? deal.seller : deal.buyer;
        const open = deal.state === 'draft' && (deal.seller === null || deal.buyer === null);
        if (!creatorParty || (!open && yourRole === null)) {
          throw new ApiError(409, 'invite_not_available', 'This invite can no longer be used');
        }
        const creatorRole = creatorParty === deal.seller ? 'seller' : 'buyer';
        const names = await loadNames(ctx.pool, [deal]);
        const token = ctx.registry.findToken(deal.asset) ?? { symbol: '?', decimals: 0 };
        const q = deal.quote;
        return {
          code: deal.inviteCode,
          title: deal.title,
          description: deal.description,
          creator: {
            role: creatorRole,
            displayName: names.get(creatorParty.userId)?.displayName ?? '',
            username: names.get(creatorParty.userId)?.username ?? null,
          },
          openRole: creatorRole === 'seller' ? 'buyer' : 'seller',
          yourRole,
          asset: { ...deal.asset, symbol: token.symbol, decimals: token.decimals },
          price: q.price.toString(),
          amountDue: q.amountDue.toString(),
          fee: q.fee.toString(),
          display: {
            price: formatAmount(q.price, token.decimals),
            amountDue: formatAmount(q.amountDue, token.decimals),
            fee: formatAmount(q.fee, token.decimals),
          },
          feePayer: deal.feeTerms.feePayer,
          periods: { ...deal.periods },
          links: inviteLinks(deal.inviteCode, links),
        };
      },
    }),
  ];
}
