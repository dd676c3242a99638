import { randomBytes, randomUUID } from 'node:crypto';
import {
  type ActivityEntry,
  type Actor,
  type AssetRef,
  appendEntry,
  type DealAction,
  type DealPeriods,
  DomainError,
  decide,
  type FeeTerms,
  type Json,
  type PartyRole,
  type PayoutLeg,
  payoutLegs,
  quoteDeal,
} from '@amanat/core';
import { type Pool, type PoolClient, type Queryable, withTransaction } from '../db.ts';
import { writeOutbox } from '../outbox/write.ts';
import { insertActivity } from './activity.ts';
import { dealEffects, type StorageMode } from './effects.ts';
import { DEAL_SELECT, type DealRecord, dealFromRow, snapshotOf } from './record.ts';

export interface NewDeal {
  creatorId: string;
  creatorRole: PartyRole;
  /** The creator's payout (seller) or refund (buyer) address, already EIP-55 checked. */
  creatorAddress: string | null;
  title: string;
  description: string;
  asset: AssetRef;
  price: bigint;
  feeTerms: FeeTerms;
  underpayTolerance: bigint;
  dustThreshold: bigint;
  periods: DealPeriods;
}

export interface ActOptions {
  now?: Date;
  /** Optimistic check: reject with `version_conflict` if the deal moved on since the caller read it. */
  expectedVersion?: number;
  /** For `join`: the joiner's payout or refund address. */
  partyAddress?: string | null;
  /** Derives the deposit address for an index when the deal starts awaiting payment. */
  deriveDepositAddress?: (index: bigint) => string;
  /** Extra facts for the activity entry (never secrets). */
  facts?: Record<string, unknown>;
}

export interface ActResult {
  deal: DealRecord;
  entry: ActivityEntry;
  payoutLegs: PayoutLeg[];
}

const INVITE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** 10 characters from a 32-letter alphabet without look-alikes: 50 bits, unguessable and easy to read out. */
export const newInviteCode = (): string =>
  Array.from(randomBytes(10), (b) => INVITE_ALPHABET[b % INVITE_ALPHABET.length]).join('');

/** Facts are stored as JSON: bigints become decimal strings, Dates ISO strings. */
const plainFacts = (facts: Record<string, unknown>): Record<string, Json> =>
  JSON.parse(
    JSON.stringify(facts, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v,
    ),
  );

const actionFacts = (action: DealAction): Record<string, Json> => {
  const { type: _type, ...rest } = action;
  return plainFacts(rest);
};

export class DealStore {
  readonly pool: Pool;
  readonly storageMode: StorageMode;

  constructor(opts: { pool: Pool; storageMode?: StorageMode }) {
    this.pool = opts.pool;
    this.storageMode = opts.storageMode ?? 'pg_only';
  }

  async get(id: string, db: Queryable = this.pool): Promise<DealRecord | null> {
    const { rows } = await db.query(`${DEAL_SELECT} WHERE d.id = $1`, [id]);
    return rows[0] ? dealFromRow(rows[0]) : null;
  }

  private async lock(tx: PoolClient, id: string): Promise<DealRecord> {
    const { rows } = await tx.query(`${DEAL_SELECT} WHERE d.id = $1 FOR UPDATE OF d`, [id]);
    if (!rows[0]) throw new DomainError('deal_not_found', 'No such deal');
    return dealFromRow(rows[0]);
  }

  /** Creates a draft deal with its creator as the first party, who accepts the terms by creating them. */
  async create(input: NewDeal, now = new Date()): Promise<ActResult> {
    const quote = quoteDeal(input.price, input.feeTerms);
    if (input.underpayTolerance >= quote.amountDue) {
      throw new DomainError(
        'tolerance_invalid',
        'The underpayment tolerance must be smaller than the amount due',
      );
    }
    const id = randomUUID();
    return withTransaction(this.pool, async (tx) => {
      await tx.query(
        `INSERT INTO deals (id, invite_code, title, description, state, chain_id, token, price, amount_due, fee,
           seller_fee, buyer_fee, fee_bps, fee_min, fee_payer, underpay_tolerance, dust_threshold,
           payment_window_sec, delivery_period_sec, inspection_period_sec, created_by, log_head, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
           $21, $22, $22)`,
        [
          id,
          newInviteCode(),
          input.title,
          input.description,
          input.asset.chainId,
          input.asset.token,
          quote.price.toString(),
          quote.amountDue.toString(),
          quote.fee.toString(),
          quote.sellerFee.toString(),
          quote.buyerFee.toString(),
          input.feeTerms.feeBps,
          input.feeTerms.feeMin.toString(),
          input.feeTerms.feePayer,
          input.underpayTolerance.toString(),
          input.dustThreshold.toString(),
          input.periods.paymentWindowSec,
          input.periods.deliveryPeriodSec,
          input.periods.inspectionPeriodSec,
          input.creatorId,
          '0'.repeat(64),
          now,
        ],
      );
      await tx.query(
        `INSERT INTO deal_parties (deal_id, role, user_id, address, joined_at, accepted_at) VALUES ($1, $2, $3, $4, $5, $5)`,
        [id, input.creatorRole, input.creatorId, input.creatorAddress, now],
      );
      const draft = await this.lock(tx, id);
      const actor: Actor = { kind: 'user', userId: input.creatorId, role: input.creatorRole };
      const entry = appendEntry(null, {
        dealId: id,
        at: now.toISOString(),
        actor,
        action: 'create',
        stateBefore: null,
        stateAfter: 'draft',
        facts: plainFacts({
          asset: input.asset,
          price: quote.price,
          amountDue: quote.amountDue,
          fee: quote.fee,
          feeTerms: input.feeTerms,
          periods: input.periods,
        }),
      });
      await insertActivity(tx, entry);
      await tx.query('UPDATE deals SET log_seq = $2, log_head = $3 WHERE id = $1', [
        id,
        entry.seq,
        entry.hash,
      ]);
      const deal = { ...draft, logSeq: entry.seq, logHead: entry.hash };
      await writeOutbox(
        tx,
        dealEffects({
          before: null,
          after: deal,
          entry,
          transition: { action: 'create' },
          payoutLegs: [],
          storageMode: this.storageMode,
          now,
        }),
      );
      return { deal, entry, payoutLegs: [] };
    });
  }

  /**
   * Applies one action in one transaction: lock the row, decide with core's state machine, write the
   * deal, its activity entry, any payout legs and every follow-up message to the outbox. A racing action
   * waits for the lock and is then decided against the new state, so exactly one of two conflicting
   * actions can win.
   */
  async act(dealId: string, action: DealAction, actor: Actor, opts: ActOptions = {}): Promise<ActResult> {
    return withTransaction(this.pool, (tx) => this.actIn(tx, dealId, action, actor, opts));
  }

  /** The same as `act`, inside a transaction the caller owns (for changes that also write other rows). */
  async actIn(
    tx: PoolClient,
    dealId: string,
    action: DealAction,
    actor: Actor,
    opts: ActOptions = {},
  ): Promise<ActResult> {
    const now = opts.now ?? new Date();
    const before = await this.lock(tx, dealId);
    if (opts.expectedVersion !== undefined && opts.expectedVersion !== before.version) {
      throw new DomainError(
        'version_conflict',
        'The deal changed since you loaded it; reload and try again',
        {
          expected: opts.expectedVersion,
          actual: before.version,
        },
      );
    }
    const t = decide(snapshotOf(before), action, actor, now);
    const version = before.version + 1;

    let deposit = before.deposit;
    if (t.from === 'draft' && t.to === 'awaiting_payment' && opts.deriveDepositAddress && !deposit) {
      const { rows } = await tx.query(`SELECT nextval('deposit_index_seq') AS index`);
      const index = BigInt(rows[0].index);
      const address = opts.deriveDepositAddress(index);
      await tx.query(
        'INSERT INTO deposit_addresses (deal_id, derivation_index, address) VALUES ($1, $2, $3)',
        [dealId, index.toString(), address],
      );
      deposit = { address, index };
    }

    if (action.type === 'join' && actor.kind === 'user') {
      await tx.query(
        'INSERT INTO deal_parties (deal_id, role, user_id, address, joined_at) VALUES ($1, $2, $3, $4, $5)',
        [dealId, action.role, actor.userId, opts.partyAddress ?? null, now],
      );
    }
    if (
      action.type === 'accept' &&
      actor.kind === 'user' &&
      actor.role !== 'arbitrator' &&
      actor.role !== 'operator'
    ) {
      await tx.query('UPDATE deal_parties SET accepted_at = $3 WHERE deal_id = $1 AND role = $2', [
        dealId,
        actor.role,
        now,
      ]);
    }

    const legs = t.payout
      ? payoutLegs({
          outcome: t.payout,
          received: before.confirmedAmount,
          quote: before.quote,
          terms: before.feeTerms,
        })
      : [];
    const reviewReasons = t.next.needsReview
      ? [...new Set([...before.reviewReasons, ...t.reviewReasons])]
      : [];

    const entry = appendEntry(before.logSeq === 0 ? null : { seq: before.logSeq, hash: before.logHead }, {
      dealId,
      at: now.toISOString(),
      actor,
      action: action.type,
      stateBefore: t.from,
      stateAfter: t.to,
      facts: plainFacts({
        ...actionFacts(action),
        ...(opts.facts ?? {}),
        ...(t.reviewReasons.length > 0 ? { reviewReasons: t.reviewReasons } : {}),
        ...(legs.length > 0 ? { payoutLegs: legs } : {}),
        ...(deposit && !before.deposit ? { depositAddress: deposit.address } : {}),
      }),
    });
    await insertActivity(tx, entry);

    const { rows } = await tx.query(
      `UPDATE deals SET state = $2, needs_review = $3, review_reasons = $4, version = $5, payment_deadline = $6,
         delivery_deadline = $7, inspection_deadline = $8, funding = $9, has_payments = $10, log_seq = $11,
         log_head = $12, updated_at = $13
       WHERE id = $1 RETURNING updated_at`,
      [
        dealId,
        t.to,
        t.next.needsReview,
        reviewReasons,
        version,
        t.next.deadlines.payment,
        t.next.deadlines.delivery,
        t.next.deadlines.inspection,
        t.next.funding,
        t.next.hasPayments,
        entry.seq,
        entry.hash,
        now,
      ],
    );

    // Parties and the deposit address live in their own rows: re-read them when this action wrote them.
    const rowsChanged = action.type === 'join' || action.type === 'accept' || deposit !== before.deposit;
    const after: DealRecord = rowsChanged
      ? await this.lock(tx, dealId)
      : {
          ...before,
          state: t.to,
          needsReview: t.next.needsReview,
          reviewReasons,
          version,
          deadlines: t.next.deadlines,
          funding: t.next.funding,
          hasPayments: t.next.hasPayments,
          logSeq: entry.seq,
          logHead: entry.hash,
          updatedAt: rows[0].updated_at,
        };

    if (legs.length > 0) {
      const recipients: Record<PayoutLeg['kind'], string | null> = {
        seller: after.seller?.address ?? null,
        fee: null,
        buyer_excess: after.buyer?.address ?? null,
        buyer_refund: after.buyer?.address ?? null,
        buyer_share: after.buyer?.address ?? null,
      };
      await tx.query(
        `INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
         SELECT $1, $2, kind, $3, $4, recipient, amount
         FROM jsonb_to_recordset($5::jsonb) AS x(kind text, recipient text, amount numeric)`,
        [
          dealId,
          String(entry.seq),
          before.asset.chainId,
          before.asset.token,
          JSON.stringify(
            legs.map((l) => ({ kind: l.kind, recipient: recipients[l.kind], amount: l.amount.toString() })),
          ),
        ],
      );
    }

    await writeOutbox(
      tx,
      dealEffects({
        before,
        after,
        entry,
        transition: t,
        payoutLegs: legs,
        storageMode: this.storageMode,
        now,
      }),
    );
    return { deal: after, entry, payoutLegs: legs };
  }
}
