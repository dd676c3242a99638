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
import type { Pool } from '../db.ts';
import { OUTBOX_INSERT, outboxRowsJson } from '../outbox/write.ts';
import { ACTIVITY_COLUMNS, activityRowParams } from './activity.ts';
import { dealEffects, type StorageMode } from './effects.ts';
import {
  DEAL_ROW_COLUMNS,
  DEAL_SELECT,
  type DealParty,
  type DealRecord,
  dealFromRow,
  dealRowValues,
  placeholders,
  snapshotOf,
} from './record.ts';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Facts are stored as JSON: bigints become decimal strings, Dates ISO strings. */
const plainFacts = (facts: Record<string, unknown>): Record<string, Json> =>
  JSON.parse(
    JSON.stringify(facts, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : v,
    ),
  );

const actionFacts = (action: DealAction): Record<string, unknown> => {
  const { type: _type, ...rest } = action;
  return rest;
};

/** The parties after an action: `join` adds one, `accept` stamps its acceptance. */
function partiesAfter(
  before: DealRecord,
  action: DealAction,
  actor: Actor,
  now: Date,
  joinAddress: string | null,
): Pick<DealRecord, 'seller' | 'buyer'> {
  const parties = { seller: before.seller, buyer: before.buyer };
  if (actor.kind !== 'user') return parties;
  if (action.type === 'join') {
    parties[action.role] = { userId: actor.userId, address: joinAddress, acceptedAt: null };
  }
  if (action.type === 'accept' && (actor.role === 'seller' || actor.role === 'buyer')) {
    parties[actor.role] = { ...(parties[actor.role] as DealParty), acceptedAt: now };
  }
  if (action.type === 'set_address' && (actor.role === 'seller' || actor.role === 'buyer')) {
    parties[actor.role] = { ...(parties[actor.role] as DealParty), address: action.address };
  }
  return parties;
}

/** Whoever receives each payout leg: the addresses frozen in the deal; the fee address is configuration. */
const legRecipient = (deal: DealRecord, kind: PayoutLeg['kind']): string | null =>
  kind === 'seller' ? (deal.seller?.address ?? null) : kind === 'fee' ? null : (deal.buyer?.address ?? null);

/**
 * The deal store. Every change is one atomic statement that version-checks the deal, after core's state
 * machine decided it, and writes the deal, its activity entry, any payout legs and every follow-up message
 * (outbox) together. A change costs two round trips (read, one conditional write) and holds no lock
 * across them, which is what lets many clients change deals at once.
 */
export class DealStore {
  readonly pool: Pool;
  readonly storageMode: StorageMode;

  private readonly onCommitted: (dealId: string) => void;

  /**
   * `onCommitted` runs after every committed change, typically `outboxWaker(redis, prefix)` so the relay
   * delivers at once; without it the relay finds the rows at its next poll.
   */
  constructor(opts: { pool: Pool; storageMode?: StorageMode; onCommitted?: (dealId: string) => void }) {
    this.pool = opts.pool;
    this.storageMode = opts.storageMode ?? 'pg_only';
    this.onCommitted = opts.onCommitted ?? (() => {});
  }

  async get(id: string): Promise<DealRecord | null> {
    if (!UUID.test(id)) return null;
    // Named statements are planned once per connection; these run on every change.
    const { rows } = await this.pool.query({
      name: 'deal-get',
      text: `${DEAL_SELECT} WHERE d.id = $1`,
      values: [id],
    });
    return rows[0] ? dealFromRow(rows[0]) : null;
  }

  /**
   * Creates a draft deal with its creator as the first party. Nobody has accepted yet: both parties
   * accept once the counterparty has joined, so whoever takes an invite that leaked cannot start the deal
   * without the creator agreeing to deal with them.
   */
  async create(input: NewDeal, now = new Date()): Promise<ActResult> {
    const quote = quoteDeal(input.price, input.feeTerms);
    if (input.underpayTolerance >= quote.amountDue) {
      throw new DomainError(
        'tolerance_invalid',
        'The underpayment tolerance must be smaller than the amount due',
      );
    }
    const id = randomUUID();
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
    const creator: DealParty = { userId: input.creatorId, address: input.creatorAddress, acceptedAt: null };
    const deal: DealRecord = {
      id,
      inviteCode: newInviteCode(),
      title: input.title,
      description: input.description,
      state: 'draft',
      needsReview: false,
      reviewReasons: [],
      version: 1,
      asset: input.asset,
      quote,
      feeTerms: input.feeTerms,
      underpayTolerance: input.underpayTolerance,
      dustThreshold: input.dustThreshold,
      periods: input.periods,
      deadlines: { payment: null, delivery: null, inspection: null },
      funding: 'unpaid',
      confirmedAmount: 0n,
      confirmingAmount: 0n,
      closedAt: null,
      createdBy: input.creatorId,
      seller: input.creatorRole === 'seller' ? creator : null,
      buyer: input.creatorRole === 'buyer' ? creator : null,
      deposit: null,
      logSeq: entry.seq,
      logHead: entry.hash,
      createdAt: now,
      updatedAt: now,
    };
    const outbox = dealEffects({
      before: null,
      after: deal,
      entry,
      transition: { action: 'create' },
      payoutLegs: [],
      storageMode: this.storageMode,
    });
    const row = dealRowValues(deal);
    const next = row.length + 1;
    await this.pool.query({
      name: 'deal-create',
      text: `WITH new_deal AS (
         INSERT INTO deals (${DEAL_ROW_COLUMNS.join(', ')}) VALUES (${placeholders(1, row.length)})
         RETURNING id, created_by, created_at
       ), creator AS (
         INSERT INTO deal_parties (deal_id, role, user_id, address, joined_at, accepted_at)
         SELECT id, $${next}, created_by, $${next + 1}, created_at, NULL FROM new_deal
       ), activity AS (
         INSERT INTO activity_log (${ACTIVITY_COLUMNS})
         SELECT ${placeholders(next + 2, 10)} FROM new_deal
       ), outbox_rows AS (${OUTBOX_INSERT(`$${next + 12}`)})
       SELECT 1`,
      values: [
        ...row,
        input.creatorRole,
        input.creatorAddress,
        ...activityRowParams(entry),
        outboxRowsJson(outbox),
      ],
    });
    this.onCommitted(id);
    return { deal, entry, payoutLegs: [] };
  }

  /**
   * Applies one action. The deal is read, the action decided against what was read, and everything it
   * changes written in one statement that only takes effect if the deal's version is still the one read.
   * A racing change makes that statement a no-op; the action is then decided again against the new
   * state, so of two conflicting actions exactly one wins and the other gets a clear rejection.
   */
  async act(dealId: string, action: DealAction, actor: Actor, opts: ActOptions = {}): Promise<ActResult> {
    return (await this.change(dealId, opts, (before) => ({ action, actor, before }))) as ActResult;
  }

  /**
   * The optimistic loop behind every change: `load` reads the deal (and whatever else the change decides
   * on, in the same query); `prepare` returns the action to decide and any extra writes that must commit
   * with it, or null for "nothing to do".
   */
  async change<R extends Prepared, D extends DealRecord = DealRecord>(
    dealId: string,
    opts: ActOptions,
    prepare: (deal: D) => R | null | Promise<R | null>,
    load: (id: string) => Promise<D | null> = (id) => this.get(id) as Promise<D | null>,
  ): Promise<(ActResult & { prepared: R }) | null> {
    for (let attempt = 1; ; attempt++) {
      const deal = UUID.test(dealId) ? await load(dealId) : null;
      if (!deal) throw new DomainError('deal_not_found', 'No such deal');
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== deal.version) {
        throw new DomainError(
          'version_conflict',
          'The deal changed since you loaded it; reload and try again',
          {
            expected: opts.expectedVersion,
            actual: deal.version,
          },
        );
      }
      const prepared = await prepare(deal);
      if (prepared === null) return null;
      const facts = { ...opts.facts, ...prepared.facts };
      const plan = await this.plan(prepared.before, prepared.action, prepared.actor, { ...opts, facts });
      if (await this.write(plan, prepared.extra)) {
        this.onCommitted(dealId);
        return { ...plan.result, prepared };
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new DomainError('version_conflict', 'The deal is changing too often right now; try again', {
          attempts: attempt,
        });
      }
    }
  }

  /** Decides the action and builds every row it writes, without writing anything. */
  private async plan(before: DealRecord, action: DealAction, actor: Actor, opts: ActOptions): Promise<Plan> {
    const now = opts.now ?? new Date();
    const t = decide(snapshotOf(before), action, actor, now);

    let deposit = before.deposit;
    if (t.from === 'draft' && t.to === 'awaiting_payment' && opts.deriveDepositAddress && !deposit) {
      // A sequence value is never handed out twice, even if this change then loses its race.
      const { rows } = await this.pool.query(`SELECT nextval('deposit_index_seq') AS index`);
      const index = BigInt(rows[0].index);
      deposit = { address: opts.deriveDepositAddress(index), index };
    }

    const legs = t.payout
      ? payoutLegs({
          outcome: t.payout,
          received: before.confirmedAmount,
          quote: before.quote,
          terms: before.feeTerms,
        })
      : [];
    // The state machine makes each party give an address before accepting; deals imported from the
    // legacy store may still lack one, and then no payout is decided rather than one without a recipient.
    const unaddressed = legs.find((l) => l.kind !== 'fee' && legRecipient(before, l.kind) === null);
    if (unaddressed) {
      throw new DomainError(
        'payout_address_missing',
        `The ${unaddressed.kind === 'seller' ? 'seller has' : 'buyer has'} not given an address to pay to`,
      );
    }
    const entry = appendEntry(before.logSeq === 0 ? null : { seq: before.logSeq, hash: before.logHead }, {
      dealId: before.id,
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
    const after: DealRecord = {
      ...before,
      ...partiesAfter(before, action, actor, now, opts.partyAddress ?? null),
      state: t.to,
      needsReview: t.next.needsReview,
      reviewReasons: t.next.needsReview ? [...new Set([...before.reviewReasons, ...t.reviewReasons])] : [],
      version: before.version + 1,
      deadlines: t.next.deadlines,
      funding: t.next.funding,
      confirmedAmount: t.next.confirmed,
      confirmingAmount: t.next.confirming,
      closedAt: t.next.closedAt,
      deposit,
      logSeq: entry.seq,
      logHead: entry.hash,
      updatedAt: now,
    };
    const partyRole: PartyRole | null =
      action.type === 'join'
        ? action.role
        : (action.type === 'accept' || action.type === 'set_address') &&
            actor.kind === 'user' &&
            (actor.role === 'seller' || actor.role === 'buyer')
          ? actor.role
          : null;
    const outbox = dealEffects({
      before,
      after,
      entry,
      transition: t,
      payoutLegs: legs,
      storageMode: this.storageMode,
    });
    return {
      before,
      after,
      entry,
      outbox,
      legs,
      partyRole,
      newDeposit: deposit && !before.deposit ? deposit : null,
      result: { deal: after, entry, payoutLegs: legs },
    };
  }

  /** One statement, conditional on the version read: every write happens, or none does. */
  private async write(plan: Plan, extra?: ExtraWrite): Promise<boolean> {
    const { before, after, entry } = plan;
    const party = plan.partyRole ? after[plan.partyRole] : null;
    const legRows = plan.legs.map((l) => ({
      kind: l.kind,
      recipient: legRecipient(after, l.kind),
      amount: l.amount.toString(),
    }));
    const params: unknown[] = [
      ...activityRowParams(entry),
      outboxRowsJson(plan.outbox),
      String(entry.seq),
      before.asset.chainId,
      before.asset.token,
      JSON.stringify(legRows),
      plan.newDeposit?.index.toString() ?? null,
      plan.newDeposit?.address ?? null,
      plan.partyRole,
      party?.userId ?? null,
      party?.address ?? null,
      party?.acceptedAt ?? null,
      after.state,
      after.needsReview,
      after.reviewReasons,
      after.version,
      after.deadlines.payment,
      after.deadlines.delivery,
      after.deadlines.inspection,
      after.funding,
      before.version,
      after.confirmedAmount.toString(),
      after.confirmingAmount.toString(),
      after.closedAt,
      ...(extra?.params ?? []),
    ];
    const extraCtes = [extra?.sql ?? []].flat().map((sql, i) => `, extra${i || ''} AS (${sql})`);
    const { rows } = await this.pool.query({
      name: extra ? `deal-change-${extra.name}` : 'deal-change',
      text: `WITH upd AS (
         UPDATE deals SET state = $22, needs_review = $23, review_reasons = $24, version = $25,
           payment_deadline = $26, delivery_deadline = $27, inspection_deadline = $28, funding = $29,
           confirmed_amount = $31, confirming_amount = $32, closed_at = $33, log_seq = $2,
           log_head = $10, updated_at = $3
         WHERE id = $1 AND version = $30
         RETURNING id
       ), activity AS (
         INSERT INTO activity_log (${ACTIVITY_COLUMNS})
         SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM upd
       ), outbox_rows AS (
         INSERT INTO outbox (kind, target, name, job_id, payload, run_at)
         SELECT x.kind, x.target, x.name, x.job_id, x.payload, x.run_at
         FROM upd, jsonb_to_recordset($11::jsonb)
           AS x(kind text, target text, name text, job_id text, payload jsonb, run_at timestamptz)
       ), legs AS (
         INSERT INTO payout_legs (deal_id, cause, kind, chain_id, token, recipient, amount)
         SELECT upd.id, $12, x.kind, $13, $14, x.recipient, x.amount
         FROM upd, jsonb_to_recordset($15::jsonb) AS x(kind text, recipient text, amount numeric)
       ), deposit AS (
         INSERT INTO deposit_addresses (deal_id, derivation_index, address)
         SELECT id, $16, $17 FROM upd WHERE $16::bigint IS NOT NULL
       ), party AS (
         INSERT INTO deal_parties (deal_id, role, user_id, address, joined_at, accepted_at)
         SELECT id, $18, $19, $20, $3, $21 FROM upd WHERE $18::text IS NOT NULL
         ON CONFLICT (deal_id, role) DO UPDATE SET accepted_at = EXCLUDED.accepted_at, address = EXCLUDED.address
       )${extraCtes.join('')}
       SELECT count(*)::int AS applied FROM upd`,
      values: params,
    });
    return rows[0].applied === 1;
  }
}

/** What a change decides on: the action, who takes it, the deal as read (possibly amended), and more. */
export interface Prepared {
  action: DealAction;
  actor: Actor;
  before: DealRecord;
  facts?: Record<string, unknown>;
  extra?: ExtraWrite;
}

/**
 * More rows to write in the same statement as a deal change, only if the change applies. Its SQL sees
 * the CTE `upd` (one row, `id`, when the change applies) and its parameters start at $34.
 */
export interface ExtraWrite {
  /** Names the prepared statement variant; the same name must always come with the same SQL. */
  name: string;
  /** One statement, or several that each become a CTE of their own (data-modifying CTEs cannot nest). */
  sql: string | readonly string[];
  params: unknown[];
}

interface Plan {
  before: DealRecord;
  after: DealRecord;
  entry: ActivityEntry;
  outbox: ReturnType<typeof dealEffects>;
  legs: PayoutLeg[];
  partyRole: PartyRole | null;
  newDeposit: { address: string; index: bigint } | null;
  result: ActResult;
}

/** Each lost race means another change succeeded; this many in a row means heavy contention. */
const MAX_ATTEMPTS = 25;
