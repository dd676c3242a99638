import {
  type Actor,
  type DealAction,
  isDomainError,
  parseAmount,
  redisKeys,
  verifyChain,
} from '@amanat/core';
import {
  activityViewSchema,
  addressBody,
  cancelBody,
  createDealBody,
  dealDetailSchema,
  dealIdParams,
  dealListSchema,
  dealViewSchema,
  disputeBody,
  disputeMessageBody,
  joinDealBody,
  listDealsQuery,
  plainActionBody,
  resolveBody,
} from '@amanat/core/api';
import { type DealRecord, listDeals, readActivity, withTransaction } from '@amanat/platform';
import type { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { ApiError } from '../http/problem.ts';
import { type Caller, defineRoute, JsonText, type RouteDef } from '../http/route.ts';
import { dealByInvite } from './invite-routes.ts';
import type { DealReadModel } from './read-cache.ts';
import { dealView, linkConfigOf, loadNames, paymentView, type Viewer, viewerOf } from './view.ts';

const notFound = () => new ApiError(404, 'deal_not_found', 'No such deal');

/** The actor a caller acts as on a deal: the party role they hold, else their staff role. */
const actorFor = (caller: Caller, viewer: Viewer): Actor => ({
  kind: 'user',
  userId: caller.user.id,
  role: viewer,
});

/** For what arbitrators do: a party acts as their party role (and may not judge their own deal). */
function asArbitrator(caller: Caller, viewer: Viewer): Actor {
  if (viewer === 'seller' || viewer === 'buyer') return actorFor(caller, viewer);
  return { kind: 'user', userId: caller.user.id, role: caller.arbitrator ? 'arbitrator' : viewer };
}

export function dealRoutes(ctx: ApiContext): RouteDef[] {
  const links = linkConfigOf(ctx.config);
  const keys = redisKeys(ctx.config.REDIS_PREFIX);
  /** Rendered answers of GET /api/deals/:id, per cached read and kind of viewer; they go with the read. */
  const rendered = new WeakMap<object, Map<Viewer, string>>();

  /**
   * The latest block each chain's scanner recorded, for the chains a deal has pending payments on (the
   * scanner writes it after every tick); nothing is read when no payment is confirming.
   */
  async function chainHeads(deal: DealReadModel): Promise<Map<number, bigint>> {
    const chains = [...new Set(deal.payments.filter((p) => p.status === 'pending').map((p) => p.chainId))];
    const heads = new Map<number, bigint>();
    await Promise.all(
      chains.map(async (chainId) => {
        const head = await ctx.redis.hget(keys.scanState(chainId), 'head').catch(() => null);
        if (head && /^\d+$/.test(head)) heads.set(chainId, BigInt(head));
      }),
    );
    return heads;
  }

  const view = async (deal: DealRecord, viewer: Viewer) =>
    dealView(deal, viewer, { registry: ctx.registry, names: await loadNames(ctx.pool, [deal]), links });

  /** A deal the caller may see, and how they see it; everyone else gets the same 404 as for no deal. */
  async function visibleDeal(id: string, caller: Caller): Promise<{ deal: DealRecord; viewer: Viewer }> {
    const deal = await ctx.store.get(id);
    const viewer = deal ? viewerOf(deal, caller) : null;
    if (!deal || !viewer) throw notFound();
    return { deal, viewer };
  }

  /** Every deal change: visibility, then core's state machine in one version-checked write. */
  async function act(
    id: string,
    caller: Caller,
    version: number | undefined,
    build: (deal: DealRecord, viewer: Viewer) => { action: DealAction; actor?: Actor },
  ) {
    const { deal, viewer } = await visibleDeal(id, caller);
    const { action, actor } = build(deal, viewer);
    const result = await ctx.store.act(id, action, actor ?? actorFor(caller, viewer), {
      ...(version !== undefined ? { expectedVersion: version } : {}),
      deriveDepositAddress: ctx.deriveDepositAddress,
    });
    if (result.deal.deposit && !deal.deposit) await watchDepositAddress(result.deal.deposit.address);
    return view(result.deal, viewer);
  }

  /**
   * The scanner watches a deposit address on every active chain (money sent on the wrong chain is found
   * too). The sets are rebuilt from PostgreSQL at start, so a failure here is repaired there.
   */
  async function watchDepositAddress(address: string) {
    const lower = address.toLowerCase();
    try {
      await Promise.all(
        ctx.registry.activeChains().map((c) => ctx.redis.sadd(keys.watchSet(c.chainId), lower)),
      );
    } catch (err) {
      ctx.logger.warn({ err, address: lower }, 'could not add the deposit address to the watch sets');
    }
  }

  const actionRoute = <B extends z.ZodType>(spec: {
    path: string;
    operationId: string;
    summary: string;
    description?: string;
    body: B;
    action: (body: z.output<B>, deal: DealRecord, viewer: Viewer) => DealAction;
    actor?: (caller: Caller, deal: DealRecord, viewer: Viewer) => Actor;
  }) =>
    defineRoute({
      method: 'post',
      path: `/api/deals/:id/${spec.path}`,
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tag: 'deals',
      auth: 'user',
      params: dealIdParams,
      body: spec.body,
      response: dealViewSchema,
      errors: [403, 404, 409, 422],
      handler: async ({ params, body, caller }) =>
        act(params.id, caller, (body as { version?: number }).version, (deal, viewer) => ({
          action: spec.action(body as z.output<B>, deal, viewer),
          ...(spec.actor ? { actor: spec.actor(caller, deal, viewer) } : {}),
        })),
    });

  return [
    defineRoute({
      method: 'post',
      path: '/api/deals',
      operationId: 'createDeal',
      summary: 'Create a deal',
      description:
        'The creator takes a role (seller or buyer) and gives their own address (payout for a seller, refund ' +
        'for a buyer). Once the counterparty has joined, both accept (POST /api/deals/{id}/accept), so the ' +
        'creator agrees to the person who joined. The answer carries the invite code and links for ' +
        "the counterparty. The platform fee (basis points, with the asset's minimum) is fixed into the deal now.",
      tag: 'deals',
      auth: 'user',
      body: createDealBody,
      status: 201,
      response: dealViewSchema,
      errors: [422],
      handler: async ({ body, caller }) => {
        const chain = ctx.registry.chain(body.asset.chainId);
        if (!chain || !ctx.registry.activeChains().some((c) => c.chainId === chain.chainId)) {
          throw new ApiError(
            422,
            'chain_unsupported',
            `Chain ${body.asset.chainId} is not one Amanat watches`,
          );
        }
        const token = ctx.registry.findToken(body.asset as never);
        if (!token) {
          throw new ApiError(
            422,
            'asset_unknown',
            'This token is not in the registry; pick one from GET /api/assets',
          );
        }
        const price = parseAmount(body.amount, token.decimals);
        if (price <= 0n) throw new ApiError(422, 'amount_not_positive', 'The amount must be more than zero');
        const { deal } = await ctx.store.create({
          creatorId: caller.user.id,
          creatorRole: body.role,
          creatorAddress: body.address,
          title: body.title,
          description: body.description,
          asset: { chainId: token.chainId, token: token.address },
          price,
          feeTerms: { feeBps: ctx.config.PLATFORM_FEE_BPS, feeMin: token.minFee, feePayer: body.feePayer },
          underpayTolerance: 0n,
          // Transfers below a tenth of the minimum fee are address-poisoning spam, not payments.
          dustThreshold: token.minFee / 10n,
          periods: {
            paymentWindowSec: body.paymentWindowSec,
            deliveryPeriodSec: body.deliveryPeriodSec,
            inspectionPeriodSec: body.inspectionPeriodSec,
          },
        });
        return view(deal, body.role);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/deals/join',
      operationId: 'joinDeal',
      summary: 'Join a deal with its invite code',
      description:
        'The caller takes the role the creator left open and gives their own address. They still accept the ' +
        'terms with POST /api/deals/{id}/accept; the deal then awaits payment at its own deposit address.',
      tag: 'deals',
      auth: 'user',
      body: joinDealBody,
      response: dealViewSchema,
      errors: [404, 409],
      handler: async ({ body, caller }) => {
        const deal = await dealByInvite(ctx, body.code);
        const id = deal.id;
        const role = deal.seller === null ? 'seller' : 'buyer';
        try {
          const result = await ctx.store.act(
            id,
            { type: 'join', role },
            { kind: 'user', userId: caller.user.id, role },
            { partyAddress: body.address },
          );
          return view(result.deal, role);
        } catch (err) {
          // An invite code may have been seen by many; someone who is not a party learns nothing more
          // about the deal (its state, who joined) than that the invite no longer works.
          if (isDomainError(err) && err.code !== 'already_a_party' && err.code !== 'version_conflict') {
            throw new ApiError(409, 'invite_not_available', 'This invite can no longer be used');
          }
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/deals',
      operationId: 'listDeals',
      summary: "The caller's deals, newest first",
      description:
        'Cursor pagination: pass `nextCursor` back as `cursor`. `status` filters by comma-separated states. ' +
        '`scope=disputed` lists every disputed deal (arbitrators), `scope=review` every flagged deal (operators).',
      tag: 'deals',
      auth: 'user',
      query: listDealsQuery,
      response: dealListSchema,
      errors: [403],
      handler: async ({ query, caller }) => {
        if (query.scope === 'disputed' && !caller.arbitrator) {
          throw new ApiError(403, 'arbitrator_only', 'Only arbitrators may list every disputed deal');
        }
        if (query.scope === 'review' && !caller.operator) {
          throw new ApiError(403, 'operator_only', 'Only operators may list the deals flagged for review');
        }
        const page = await listDeals(
          ctx.pool,
          query.scope === 'mine' ? { kind: 'party', userId: caller.user.id } : { kind: query.scope },
          {
            ...(query.status ? { states: query.status } : {}),
            after: query.cursor ? decodeCursor(query.cursor) : null,
            limit: query.limit,
          },
        );
        const names = page.names;
        return {
          deals: page.deals.map((deal) =>
            dealView(deal, viewerOf(deal, caller) as Viewer, { registry: ctx.registry, names, links }),
          ),
          nextCursor: page.next ? encodeCursor(page.next) : null,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/deals/:id',
      operationId: 'getDeal',
      summary: 'A deal with its payments and funding status',
      tag: 'deals',
      auth: 'user',
      params: dealIdParams,
      response: dealDetailSchema,
      errors: [404],
      handler: async ({ params, caller }) => {
        const deal = await ctx.dealReads.get(params.id);
        const viewer = deal ? viewerOf(deal, caller) : null;
        if (!deal || !viewer) throw notFound();
        // A read shared from the cache is shown to each kind of viewer the same way: render it once.
        let byViewer = rendered.get(deal);
        if (!byViewer) {
          byViewer = new Map();
          rendered.set(deal, byViewer);
        }
        let text = byViewer.get(viewer);
        if (text === undefined) {
          const heads = await chainHeads(deal);
          text = JSON.stringify({
            ...dealView(deal, viewer, { registry: ctx.registry, names: deal.names, links }),
            payments: deal.payments.map((p) => paymentView(p, heads.get(p.chainId) ?? null)),
          });
          byViewer.set(viewer, text);
        }
        return new JsonText(text);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/deals/:id/activity',
      operationId: 'getDealActivity',
      summary: "The deal's hash-chained activity log and whether it verifies",
      tag: 'deals',
      auth: 'user',
      params: dealIdParams,
      response: activityViewSchema,
      errors: [404],
      handler: async ({ params, caller }) => {
        const { deal } = await visibleDeal(params.id, caller);
        // The head and the entries are read in one snapshot, so a change committing in between is not
        // mistaken for an edit of the log.
        const { head, entries } = await withTransaction(ctx.pool, async (client) => {
          await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
          const { rows } = await client.query('SELECT log_seq, log_head FROM deals WHERE id = $1', [deal.id]);
          return {
            head: rows[0] as { log_seq: number; log_head: string },
            entries: await readActivity(client, deal.id),
          };
        });
        const chain = verifyChain(deal.id, entries);
        const problems = chain.ok ? [] : [...chain.problems];
        // The chain must end where the deal row says it does: a dropped tail is an edit too.
        if (chain.head?.seq !== head.log_seq || chain.head?.hash !== head.log_head) {
          problems.push({
            seq: head.log_seq,
            kind: 'removed',
            detail: "the log does not end at the deal's recorded head",
          });
        }
        return {
          entries: entries.map(({ dealId: _d, ...e }) => e),
          verification: { ok: problems.length === 0, problems },
        };
      },
    }),
    actionRoute({
      path: 'accept',
      operationId: 'acceptDeal',
      summary: 'Accept the terms',
      description: 'Once both parties accepted, the deal gets its deposit address and awaits payment.',
      body: plainActionBody,
      action: () => ({ type: 'accept' }),
    }),
    actionRoute({
      path: 'address',
      operationId: 'setAddress',
      summary: 'Change your own payout (seller) or refund (buyer) address',
      description: 'Only until money arrives: then the addresses are frozen.',
      body: addressBody,
      action: (body) => ({ type: 'set_address', address: body.address }),
    }),
    actionRoute({
      path: 'cancel',
      operationId: 'cancelDeal',
      summary: 'Cancel the deal',
      description:
        'Free before any payment. Once funded the seller may cancel (the buyer is refunded); the buyer only ' +
        'after the delivery deadline passed without delivery.',
      body: cancelBody,
      action: (body) => ({ type: 'cancel', ...(body.reason ? { reason: body.reason } : {}) }),
    }),
    actionRoute({
      path: 'deliver',
      operationId: 'markDelivered',
      summary: 'Mark the goods or service delivered (seller)',
      description: 'Starts the inspection period; when it lapses without a dispute the money is released.',
      body: plainActionBody,
      action: () => ({ type: 'mark_delivered' }),
    }),
    actionRoute({
      path: 'confirm',
      operationId: 'confirmReceipt',
      summary: 'Confirm receipt and release the money to the seller (buyer)',
      body: plainActionBody,
      action: () => ({ type: 'confirm_receipt' }),
    }),
    actionRoute({
      path: 'dispute',
      operationId: 'openDispute',
      summary: 'Open a dispute (either party, with a reason)',
      body: disputeBody,
      action: (body) => ({ type: 'open_dispute', reason: body.reason }),
    }),
    actionRoute({
      path: 'dispute/messages',
      operationId: 'postDisputeMessage',
      summary: 'Add a message to the dispute (parties and arbitrators)',
      description: 'Messages go into the hash-chained activity log, so neither side can edit them later.',
      body: disputeMessageBody,
      action: (body) => ({ type: 'dispute_message', text: body.text }),
      actor: (caller, _deal, viewer) => asArbitrator(caller, viewer),
    }),
    actionRoute({
      path: 'resolve',
      operationId: 'resolveDispute',
      summary: 'Resolve a dispute: release, refund or split (arbitrators)',
      description:
        'A split names what the buyer gets back in base units; the seller gets the rest, less the fee. The ' +
        'payouts are recorded as pending and carried out by the payout signer.',
      body: resolveBody,
      action: (body) => ({
        type: 'resolve_dispute',
        outcome:
          body.outcome === 'split'
            ? { kind: 'split', buyerAmount: BigInt(body.buyerAmount) }
            : { kind: body.outcome },
      }),
      actor: (caller, _deal, viewer) => {
        if ((viewer === 'seller' || viewer === 'buyer') && caller.arbitrator) {
          throw new ApiError(
            403,
            'arbitrator_is_party',
            'An arbitrator may not decide a deal they are a party to',
          );
        }
        return asArbitrator(caller, viewer);
      },
    }),
  ];
}
