import { type Actor, isDomainError } from '@amanat/core';
import {
  approvePayoutBody,
  approvePayoutResultSchema,
  clearReviewBody,
  dealIdParams,
  dealPaymentParams,
  type PendingPayout,
  payoutIdParams,
  resolveReviewBody,
  resolveReviewResultSchema,
  retryPayoutsBody,
  retryPayoutsResultSchema,
  reviewDealResultSchema,
  reviewListSchema,
  reviewsQuery,
  strayDecisionBody,
  strayDecisionResultSchema,
} from '@amanat/core/api';
import {
  approvePayout,
  type DealRecord,
  dealOfPayoutLeg,
  decideStrayFunds,
  type FailedPayout,
  type HeldPayout,
  listReviews,
  retryPayouts,
  type StrayPayout,
} from '@amanat/platform';
import type { ApiContext } from '../context.ts';
import { dealView, linkConfigOf, loadNames, paymentView } from '../deals/view.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { ApiError } from '../http/problem.ts';
import { type Caller, defineRoute, type RouteDef } from '../http/route.ts';

/**
 * Operator actions for deals that need a human: clear a review flag, decide stray funds (late,
 * foreign-asset or denylisted payments), settle a deal whose funding was lost after it moved on,
 * approve a payout above PAYOUT_APPROVAL_THRESHOLD, and send failed payouts again.
 * Every action goes through core's state machine in the deal's one version-checked write, so it lands in
 * the hash-chained activity log, and any payout it decides is recorded as pending with its payout job.
 */

/** Rejections of the stray funds decision that are not the state machine's, by how they are answered. */
const REVIEW_STATUS: Record<string, number> = {
  payment_not_found: 404,
  payment_not_confirmed: 409,
  payment_not_stray: 409,
  stray_funds_already_decided: 409,
  payment_changed: 409,
  payout_not_found: 404,
  payout_not_awaiting_approval: 409,
  payout_not_retryable: 409,
  operator_is_party: 403,
};

const asApiError = (err: unknown): unknown => {
  if (isDomainError(err) && REVIEW_STATUS[err.code] !== undefined) {
    return new ApiError(
      REVIEW_STATUS[err.code] as number,
      err.code,
      err.message,
      err.details ? { extra: { details: err.details } } : {},
    );
  }
  return err;
};

export function reviewRoutes(ctx: ApiContext): RouteDef[] {
  const links = linkConfigOf(ctx.config);
  const view = async (deal: DealRecord) =>
    dealView(deal, 'operator', { registry: ctx.registry, names: await loadNames(ctx.pool, [deal]), links });

  /**
   * The operator acting on a deal. An operator who is a party of the deal may not decide it: that would
   * be deciding where their own money goes.
   */
  async function operatorOn(dealId: string, caller: Caller): Promise<Extract<Actor, { kind: 'user' }>> {
    const deal = await ctx.store.get(dealId);
    if (!deal) throw new ApiError(404, 'deal_not_found', 'No such deal');
    if (deal.seller?.userId === caller.user.id || deal.buyer?.userId === caller.user.id) {
      throw new ApiError(403, 'operator_is_party', 'An operator may not decide a deal they are a party to');
    }
    return { kind: 'user', userId: caller.user.id, role: 'operator' };
  }

  const versionOpt = (version: number | undefined) =>
    version !== undefined ? { expectedVersion: version } : {};

  return [
    defineRoute({
      method: 'get',
      path: '/api/admin/reviews',
      operationId: 'listReviews',
      summary: 'Deals that need an operator (operators)',
      description:
        'Deals flagged for review with their reasons, and deals holding stray funds (late, foreign-asset or ' +
        'denylisted payments) that nobody has decided yet, and deals with payouts waiting for approval, newest ' +
        'first. Each comes with all its stray payments and the decision taken on each, if any, and its ' +
        'payouts awaiting approval. Cursor pagination: pass `nextCursor` as `cursor`.',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      query: reviewsQuery,
      response: reviewListSchema,
      handler: async ({ query }) => {
        const page = await listReviews(ctx.pool, {
          after: query.cursor ? decodeCursor(query.cursor) : null,
          limit: query.limit,
        });
        const names = await loadNames(
          ctx.pool,
          page.items.map((i) => i.deal),
        );
        return {
          items: page.items.map((item) => ({
            deal: dealView(item.deal, 'operator', { registry: ctx.registry, names, links }),
            strayPayments: item.strayPayments.map((p) => ({
              ...paymentView(p),
              classification: p.classification,
              decision: p.decision,
            })),
            awaitingApproval: item.awaitingApproval.map(heldPayoutView),
            failedPayouts: item.failedPayouts.map(failedPayoutView),
          })),
          nextCursor: page.next ? encodeCursor(page.next) : null,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/deals/:id/clear-review',
      operationId: 'clearReview',
      summary: 'Clear the review flag with a note (operators)',
      description:
        "The note goes into the deal's activity log. Deadlines that lapsed while the deal was flagged are " +
        'armed again. Undecided stray funds stay listed under GET /api/admin/reviews.',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      params: dealIdParams,
      body: clearReviewBody,
      response: reviewDealResultSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) => {
        const actor = await operatorOn(params.id, caller);
        const result = await ctx.store.act(
          params.id,
          { type: 'clear_review', note: body.note },
          actor,
          versionOpt(body.version),
        );
        return { deal: await view(result.deal) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/deals/:id/payments/:paymentId/decision',
      operationId: 'decideStrayFunds',
      summary:
        'Decide stray funds: refund to a sender-confirmed address, or accept into the deal (operators)',
      description:
        'For a confirmed payment of this deal that was not counted: late, in a foreign asset, or from a ' +
        'denylisted sender. `refund` pays it back to an address the sender confirmed (EIP-55 checked); ' +
        "`accept` pays it to the seller's payout address. Foreign-asset and denylisted funds can only be " +
        "refunded: the seller's address was given for the deal's asset, and the denylist exists so that such " +
        "money never pays a seller. The payout is recorded as pending, in the payment's own chain and token, " +
        'and each payment is decided once.',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      params: dealPaymentParams,
      body: strayDecisionBody,
      status: 201,
      response: strayDecisionResultSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) => {
        const actor = await operatorOn(params.id, caller);
        const result = await decideStrayFunds(ctx.store, {
          dealId: params.id,
          paymentId: params.paymentId,
          decision:
            body.decision === 'refund'
              ? { kind: 'refund', address: body.address, confirmedBy: body.confirmedBy }
              : { kind: 'accept' },
          note: body.note,
          actor,
          ...versionOpt(body.version),
        }).catch((err) => {
          throw asApiError(err);
        });
        return { deal: await view(result.deal), payout: strayPayoutView(result.payout) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/deals/:id/resolve-review',
      operationId: 'resolveReview',
      summary: 'Settle a deal whose funding was lost after it moved on (operators)',
      description:
        'For a flagged deal (funded, delivered or disputed) whose confirmed money no longer covers what was ' +
        'due, typically a reorg after delivery. `release` pays the seller what is confirmed now, less the ' +
        'fee; `refund` returns it to the buyer. The flag is cleared and the payouts recorded as pending. ' +
        'With nothing confirmed left a release is refused (`not_funded`) and a refund closes the deal as ' +
        'refunded at once, since there is nothing to pay out.',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      params: dealIdParams,
      body: resolveReviewBody,
      response: resolveReviewResultSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) => {
        const actor = await operatorOn(params.id, caller);
        const result = await ctx.store.act(
          params.id,
          { type: 'resolve_review', outcome: { kind: body.outcome }, note: body.note },
          actor,
          versionOpt(body.version),
        );
        const deal = result.deal;
        return {
          deal: await view(deal),
          payouts: result.payoutLegs.map((leg) => ({
            kind: leg.kind,
            chainId: deal.asset.chainId,
            token: deal.asset.token,
            recipient:
              leg.kind === 'fee'
                ? null
                : leg.kind === 'seller'
                  ? (deal.seller?.address ?? null)
                  : (deal.buyer?.address ?? null),
            amount: leg.amount.toString(),
            cause: String(result.entry.seq),
            status: 'pending' as const,
          })),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/payouts/:id/approve',
      operationId: 'approvePayout',
      summary: 'Approve a payout above the approval threshold (operators)',
      description:
        'Payouts above PAYOUT_APPROVAL_THRESHOLD (per asset) wait for an operator: the payout signer holds ' +
        'them as awaiting approval and flags the deal (`payout_approval_required:<id>`). Approving one puts ' +
        "it back in the signer's queue and logs the approval, with the note, in the deal's activity log; " +
        'when the only review reasons left were such approvals, the flag is lowered too. The deal is not ' +
        "otherwise changed. `version` is the deal's. Refused: no such payout (404), a payout not awaiting " +
        'approval (409 payout_not_awaiting_approval), an operator who is a party of the deal (403).',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      params: payoutIdParams,
      body: approvePayoutBody,
      response: approvePayoutResultSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) => {
        const dealId = await dealOfPayoutLeg(ctx.pool, params.id);
        if (!dealId) throw new ApiError(404, 'payout_not_found', 'No such payout');
        const actor = await operatorOn(dealId, caller);
        const result = await approvePayout(ctx.store, {
          dealId,
          legId: params.id,
          actor,
          note: body.note,
          ...versionOpt(body.version),
        }).catch((err) => {
          throw asApiError(err);
        });
        return {
          deal: await view(result.deal),
          payout: {
            ...heldPayoutView(result.payout),
            status: 'pending' as const,
            approvedBy: result.payout.approvedBy,
            approvedAt: result.payout.approvedAt.toISOString(),
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/admin/deals/:id/retry-payouts',
      operationId: 'retryPayouts',
      summary: 'Send the failed payouts of a deal again, once their cause is fixed (operators)',
      description:
        'A failed payout leg or gas top-up waits for a person: nothing retries it by itself. Once the cause ' +
        'is fixed (the token unpaused, the gas tank refilled, …), this sends every failed record of the deal ' +
        "again: each goes back to pending and its cause's payout job is queued under a new job id. The retry " +
        "is logged with the note in the deal's activity log; when the deal's only review reasons were these " +
        'failures, the flag is lowered too (a new failure raises it again). Records that had a transaction ' +
        'mined without reverting may have paid and are never sent again (`retryable: false` in the review ' +
        'list): 409 payout_not_retryable when nothing else is left. 409 nothing_to_retry without failed ' +
        'payouts; 403 for an operator who is a party of the deal.',
      tag: 'admin',
      auth: 'user',
      operatorOnly: true,
      params: dealIdParams,
      body: retryPayoutsBody,
      response: retryPayoutsResultSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) => {
        const actor = await operatorOn(params.id, caller);
        const result = await retryPayouts(ctx.store, {
          dealId: params.id,
          actor,
          note: body.note,
          ...versionOpt(body.version),
        }).catch((err) => {
          throw asApiError(err);
        });
        return {
          deal: await view(result.deal),
          retried: result.retried.map((p) => {
            const { retryable: _, ...retried } = failedPayoutView(p);
            return { ...retried, status: 'pending' as const };
          }),
        };
      },
    }),
  ];
}

const failedPayoutView = (p: FailedPayout) => ({
  record: p.record,
  id: p.id,
  kind: p.kind,
  chainId: p.chainId,
  token: p.token,
  recipient: p.recipient,
  amount: p.amount.toString(),
  cause: p.cause,
  failure: p.failure,
  retryable: p.retryable,
});

const heldPayoutView = (p: HeldPayout) => ({
  id: p.id,
  kind: p.kind,
  chainId: p.chainId,
  token: p.token,
  recipient: p.recipient,
  amount: p.amount.toString(),
  cause: p.cause,
});

const strayPayoutView = (p: StrayPayout): PendingPayout => ({
  kind: p.kind,
  chainId: p.chainId,
  token: p.token,
  recipient: p.recipient,
  amount: p.amount.toString(),
  cause: p.cause,
  status: 'pending' as const,
});
