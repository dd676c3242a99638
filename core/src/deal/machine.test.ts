import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../activity-log.ts';
import { DomainError } from '../errors.ts';
import { type PaymentClass, reviewReasonFor } from '../payments.ts';
import {
  type ActorRole,
  type DealAction,
  type DealActionType,
  type DealSnapshot,
  decide,
  STRAY_FUNDS_CLASSES,
} from './machine.ts';
import { DEAL_STATES, type DealState, isFullyFunded, TERMINAL_STATES } from './states.ts';

const T0 = new Date('2026-01-01T00:00:00Z');
const HOUR = 3600;
const at = (sec: number) => new Date(T0.getTime() + sec * 1000);

const SELLER = 'seller-1';
const BUYER = 'buyer-1';
const actors: Record<ActorRole, Actor> = {
  seller: { kind: 'user', userId: SELLER, role: 'seller' },
  buyer: { kind: 'user', userId: BUYER, role: 'buyer' },
  arbitrator: { kind: 'user', userId: 'arb-1', role: 'arbitrator' },
  operator: { kind: 'user', userId: 'op-1', role: 'operator' },
  system: { kind: 'system', component: 'test' },
};

const deal = (over: Partial<DealSnapshot> = {}): DealSnapshot => ({
  state: 'draft',
  needsReview: false,
  sellerId: SELLER,
  buyerId: BUYER,
  acceptedBySeller: true,
  acceptedByBuyer: false,
  periods: { paymentWindowSec: 24 * HOUR, deliveryPeriodSec: 72 * HOUR, inspectionPeriodSec: 48 * HOUR },
  deadlines: { payment: null, delivery: null, inspection: null },
  funding: 'unpaid',
  confirmed: 0n,
  confirming: 0n,
  payoutAddressSet: true,
  refundAddressSet: true,
  closedAt: null,
  ...over,
});

const codeOf = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
};

/** What the payment evaluation reports, with amounts that fit the status (100 due). */
const funding = (status: DealSnapshot['funding'], reviewReasons: string[] = []): DealAction => {
  const confirmed = { unpaid: 0n, partially_paid: 40n, funded: 100n, overpaid: 120n }[status];
  return {
    type: 'record_funding',
    funding: status,
    confirmed,
    confirming: 0n,
    reviewReasons,
  };
};

/** A representative action of each type, for the table. */
const SAMPLE_ACTIONS: Record<DealActionType, DealAction> = {
  join: { type: 'join', role: 'buyer' },
  accept: { type: 'accept' },
  cancel: { type: 'cancel' },
  record_funding: funding('funded'),
  expire: { type: 'expire' },
  mark_delivered: { type: 'mark_delivered' },
  confirm_receipt: { type: 'confirm_receipt' },
  open_dispute: { type: 'open_dispute', reason: 'not as described' },
  resolve_dispute: { type: 'resolve_dispute', outcome: { kind: 'refund' } },
  inspection_lapsed: { type: 'inspection_lapsed' },
  delivery_lapsed: { type: 'delivery_lapsed' },
  payouts_confirmed: { type: 'payouts_confirmed' },
  flag_review: { type: 'flag_review', reason: 'manual' },
  clear_review: { type: 'clear_review', note: 'checked' },
  set_address: { type: 'set_address', address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
  dispute_message: { type: 'dispute_message', text: 'photo of the damage attached' },
  decide_stray_funds: {
    type: 'decide_stray_funds',
    payment: '31337-0xabc-0',
    class: 'late',
    decision: 'refund',
    amount: 5n,
    asset: { chainId: 31337, token: 'native' },
    recipient: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    note: 'sender confirmed the address by signed message',
  },
  resolve_review: { type: 'resolve_review', outcome: { kind: 'refund' }, note: 'reorg after delivery' },
  approve_payout: {
    type: 'approve_payout',
    leg: '42',
    kind: 'seller',
    amount: 5_000_000_000n,
    recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    note: 'seller confirmed the address by phone',
    closesReview: false,
  },
  retry_payouts: {
    type: 'retry_payouts',
    records: [{ record: 'payout_leg', id: '42', kind: 'seller', failure: 'token_paused' }],
    note: 'the issuer unpaused the token',
    closesReview: false,
  },
};

const ALL: ActorRole[] = ['seller', 'buyer', 'arbitrator', 'operator', 'system'];
const PARTIES: ActorRole[] = ['seller', 'buyer'];
const ANY_STATE = 'flag_review/clear_review are allowed in every state';
/** Stray funds can reach any deal that has a deposit address; an operator decides them in any such state. */
const STRAY: Partial<Record<DealActionType, ActorRole[]>> = {
  decide_stray_funds: ['operator'],
  // Payouts (the deal's own or stray funds') exist only once there is a deposit address.
  approve_payout: ['operator'],
  retry_payouts: ['operator'],
};
/** A deal holding its money undecided can be settled by an operator when its funding was lost. */
const HOLDING: Partial<Record<DealActionType, ActorRole[]>> = { ...STRAY, resolve_review: ['operator'] };

/**
 * The design's permission table, written out independently of the implementation: for each state, which
 * roles may take each action. Anything not listed must be refused by the role or state gate.
 */
const SPEC: Record<DealState, Partial<Record<DealActionType, ActorRole[]>>> = {
  draft: { join: PARTIES, accept: PARTIES, cancel: PARTIES, set_address: PARTIES },
  awaiting_payment: {
    ...STRAY,
    cancel: PARTIES,
    record_funding: ['system'],
    expire: ['system'],
    set_address: PARTIES,
  },
  partially_paid: { ...STRAY, record_funding: ['system'], expire: ['system'] },
  funded: {
    ...HOLDING,
    cancel: PARTIES,
    record_funding: ['system'],
    mark_delivered: ['seller'],
    confirm_receipt: ['buyer'],
    open_dispute: PARTIES,
    delivery_lapsed: ['system'],
  },
  delivered: {
    ...HOLDING,
    record_funding: ['system'],
    confirm_receipt: ['buyer'],
    open_dispute: PARTIES,
    inspection_lapsed: ['system'],
  },
  disputed: {
    ...HOLDING,
    record_funding: ['system'],
    resolve_dispute: ['arbitrator'],
    dispute_message: ['seller', 'buyer', 'arbitrator'],
  },
  releasing: { ...STRAY, record_funding: ['system'], payouts_confirmed: ['system'] },
  refunding: { ...STRAY, record_funding: ['system'], payouts_confirmed: ['system'] },
  splitting: { ...STRAY, record_funding: ['system'], payouts_confirmed: ['system'] },
  released: { ...STRAY, record_funding: ['system'] },
  refunded: { ...STRAY, record_funding: ['system'] },
  split: { ...STRAY, record_funding: ['system'] },
  cancelled: { ...STRAY, record_funding: ['system'] },
  expired: { ...STRAY, record_funding: ['system'], payouts_confirmed: ['system'] },
};

describe('permission table', () => {
  for (const state of DEAL_STATES) {
    for (const type of Object.keys(SAMPLE_ACTIONS) as DealActionType[]) {
      for (const role of ALL) {
        const allowed =
          type === 'flag_review'
            ? ['system', 'operator'].includes(role)
            : type === 'clear_review'
              ? role === 'operator'
              : (SPEC[state][type] ?? []).includes(role);
        it(`${state}: ${role} ${allowed ? 'may' : 'may not'} ${type}`, () => {
          const code = codeOf(() =>
            decide(
              deal({ state, needsReview: type === 'clear_review' || type === 'resolve_review' }),
              SAMPLE_ACTIONS[type],
              actors[role],
              T0,
            ),
          );
          const gate = code === 'actor_not_permitted' || code === 'action_not_allowed_in_state';
          expect(gate, `${ANY_STATE}; got ${code}`).toBe(!allowed);
        });
      }
    }
  }
});

describe('lifecycle', () => {
  it('join, accept, pay, deliver, confirm: the happy path sets each deadline from its own event', () => {
    let d = deal({ buyerId: null });
    const joined = decide(d, { type: 'join', role: 'buyer' }, actors.buyer, T0);
    expect(joined.next.buyerId).toBe(BUYER);
    d = joined.next;
    const accepted = decide(d, { type: 'accept' }, actors.buyer, at(10));
    expect(accepted.to).toBe('awaiting_payment');
    expect(accepted.next.deadlines.payment).toEqual(at(10 + 24 * HOUR));
    d = accepted.next;
    const funded = decide(d, funding('funded'), actors.system, at(100));
    expect(funded.to).toBe('funded');
    expect(funded.next.deadlines.delivery).toEqual(at(100 + 72 * HOUR));
    d = funded.next;
    const delivered = decide(d, { type: 'mark_delivered' }, actors.seller, at(200));
    expect(delivered.next.deadlines.inspection).toEqual(at(200 + 48 * HOUR));
    const released = decide(delivered.next, { type: 'confirm_receipt' }, actors.buyer, at(300));
    expect(released.to).toBe('releasing');
    expect(released.payout).toEqual({ kind: 'release' });
    const done = decide(released.next, { type: 'payouts_confirmed' }, actors.system, at(400));
    expect(done.to).toBe('released');
  });

  it('only the holder of a role acts as it', () => {
    const stranger: Actor = { kind: 'user', userId: 'someone-else', role: 'buyer' };
    expect(
      codeOf(() =>
        decide(deal({ state: 'funded', funding: 'funded' }), { type: 'confirm_receipt' }, stranger, T0),
      ),
    ).toBe('not_a_party');
  });

  it('a party cannot join its own deal as the counterparty, and a taken role cannot be taken again', () => {
    const self: Actor = { kind: 'user', userId: SELLER, role: 'buyer' };
    expect(codeOf(() => decide(deal({ buyerId: null }), { type: 'join', role: 'buyer' }, self, T0))).toBe(
      'already_a_party',
    );
    const other: Actor = { kind: 'user', userId: 'x', role: 'buyer' };
    expect(codeOf(() => decide(deal(), { type: 'join', role: 'buyer' }, other, T0))).toBe('role_taken');
  });

  it('terms need both parties before acceptance completes', () => {
    expect(codeOf(() => decide(deal({ buyerId: null }), { type: 'accept' }, actors.seller, T0))).toBe(
      'already_accepted',
    );
    const d = deal({ buyerId: null, acceptedBySeller: false });
    expect(codeOf(() => decide(d, { type: 'accept' }, actors.seller, T0))).toBe('counterparty_missing');
  });

  it('cancel: free before payment, refused once money arrived, a refund once funded', () => {
    expect(decide(deal({ state: 'awaiting_payment' }), { type: 'cancel' }, actors.buyer, T0).to).toBe(
      'cancelled',
    );
    expect(
      codeOf(() =>
        decide(deal({ state: 'awaiting_payment', confirming: 100n }), { type: 'cancel' }, actors.buyer, T0),
      ),
    ).toBe('payment_already_received');
    const funded = deal({
      state: 'funded',
      funding: 'funded',
      confirmed: 100n,
      deadlines: { payment: null, delivery: at(100), inspection: null },
    });
    const bySeller = decide(funded, { type: 'cancel' }, actors.seller, T0);
    expect([bySeller.to, bySeller.payout]).toEqual(['refunding', { kind: 'refund' }]);
    expect(codeOf(() => decide(funded, { type: 'cancel' }, actors.buyer, at(99)))).toBe(
      'delivery_deadline_not_passed',
    );
    expect(decide(funded, { type: 'cancel' }, actors.buyer, at(100)).to).toBe('refunding');
  });

  it('a lapsed delivery deadline is recorded once due, changes nothing, and lets the buyer cancel', () => {
    const funded = deal({
      state: 'funded',
      funding: 'funded',
      confirmed: 100n,
      deadlines: { payment: at(1), delivery: at(100), inspection: null },
    });
    expect(codeOf(() => decide(funded, { type: 'delivery_lapsed' }, actors.system, at(99)))).toBe(
      'delivery_deadline_not_passed',
    );
    const noDeadline = { ...funded, deadlines: { ...funded.deadlines, delivery: null } };
    expect(codeOf(() => decide(noDeadline, { type: 'delivery_lapsed' }, actors.system, at(500)))).toBe(
      'delivery_deadline_not_passed',
    );
    const lapsed = decide(funded, { type: 'delivery_lapsed' }, actors.system, at(100));
    expect([lapsed.to, lapsed.payout, lapsed.next]).toEqual(['funded', null, funded]);
    const cancelled = decide(lapsed.next, { type: 'cancel' }, actors.buyer, at(101));
    expect([cancelled.to, cancelled.payout]).toEqual(['refunding', { kind: 'refund' }]);
  });

  it('expiry waits for the window and refunds what arrived', () => {
    const d = deal({
      state: 'partially_paid',
      funding: 'partially_paid',
      confirmed: 40n,
      deadlines: { payment: at(50), delivery: null, inspection: null },
    });
    expect(codeOf(() => decide(d, { type: 'expire' }, actors.system, at(49)))).toBe(
      'payment_deadline_not_passed',
    );
    const t = decide(d, { type: 'expire' }, actors.system, at(50));
    expect([t.to, t.payout]).toEqual(['expired', { kind: 'refund' }]);
    // Its refund confirmed on the chain is logged (the buyer is told), and the deal stays expired.
    expect(decide(t.next, { type: 'payouts_confirmed' }, actors.system, at(60)).to).toBe('expired');
    const empty = decide(
      { ...d, state: 'awaiting_payment', confirmed: 0n },
      { type: 'expire' },
      actors.system,
      at(50),
    );
    expect(empty.payout).toBeNull();
  });

  it('funding moves a collecting deal both ways; a loss after delivery flags review instead', () => {
    const paying = deal({ state: 'awaiting_payment' });
    expect(decide(paying, funding('partially_paid'), actors.system, T0).to).toBe('partially_paid');
    expect(decide(paying, funding('overpaid'), actors.system, T0).to).toBe('funded');
    const funded = decide(paying, funding('funded'), actors.system, T0).next;
    const back = decide(funded, funding('partially_paid'), actors.system, T0);
    expect([back.to, back.next.deadlines.delivery]).toEqual(['partially_paid', null]);
    const delivered = deal({ state: 'delivered', funding: 'funded' });
    const lost = decide(delivered, funding('partially_paid'), actors.system, T0);
    expect([lost.to, lost.next.needsReview, lost.reviewReasons]).toEqual([
      'delivered',
      true,
      ['funding_lost_after_progress'],
    ]);
  });

  it('nothing is released while flagged for review or not fully funded', () => {
    const flagged = deal({ state: 'delivered', funding: 'funded', needsReview: true });
    expect(codeOf(() => decide(flagged, { type: 'confirm_receipt' }, actors.buyer, T0))).toBe(
      'deal_needs_review',
    );
    const short = deal({ state: 'delivered', funding: 'partially_paid' });
    expect(codeOf(() => decide(short, { type: 'confirm_receipt' }, actors.buyer, T0))).toBe('not_funded');
    const disputed = deal({ state: 'disputed', funding: 'funded', needsReview: true });
    expect(
      codeOf(() =>
        decide(disputed, { type: 'resolve_dispute', outcome: { kind: 'refund' } }, actors.arbitrator, T0),
      ),
    ).toBe('deal_needs_review');
  });

  it('disputes need a reason and close with the inspection period', () => {
    const d = deal({
      state: 'delivered',
      funding: 'funded',
      deadlines: { payment: null, delivery: null, inspection: at(10) },
    });
    expect(codeOf(() => decide(d, { type: 'open_dispute', reason: '  ' }, actors.buyer, T0))).toBe(
      'reason_required',
    );
    expect(decide(d, { type: 'open_dispute', reason: 'broken' }, actors.buyer, at(9)).to).toBe('disputed');
    expect(codeOf(() => decide(d, { type: 'open_dispute', reason: 'late' }, actors.buyer, at(10)))).toBe(
      'inspection_period_over',
    );
    expect(codeOf(() => decide(d, { type: 'inspection_lapsed' }, actors.system, at(9)))).toBe(
      'inspection_not_over',
    );
    expect(decide(d, { type: 'inspection_lapsed' }, actors.system, at(10)).payout).toEqual({
      kind: 'release',
    });
  });

  it('an arbitrator decides release, refund or split', () => {
    const d = deal({ state: 'disputed', funding: 'funded' });
    expect(
      decide(d, { type: 'resolve_dispute', outcome: { kind: 'release' } }, actors.arbitrator, T0).to,
    ).toBe('releasing');
    expect(
      decide(d, { type: 'resolve_dispute', outcome: { kind: 'refund' } }, actors.arbitrator, T0).to,
    ).toBe('refunding');
    const split = decide(
      d,
      { type: 'resolve_dispute', outcome: { kind: 'split', buyerAmount: 5n } },
      actors.arbitrator,
      T0,
    );
    expect([split.to, split.payout]).toEqual(['splitting', { kind: 'split', buyerAmount: 5n }]);
    expect(
      codeOf(() =>
        decide(
          d,
          { type: 'resolve_dispute', outcome: { kind: 'split', buyerAmount: -1n } },
          actors.arbitrator,
          T0,
        ),
      ),
    ).toBe('split_amount_invalid');
  });
  it('a payment made in time that is still confirming holds off expiry', () => {
    const d = deal({
      state: 'awaiting_payment',
      confirming: 100n,
      deadlines: { payment: at(50), delivery: null, inspection: null },
    });
    expect(codeOf(() => decide(d, { type: 'expire' }, actors.system, at(60)))).toBe('payments_confirming');
  });

  it('each party gives the address its money would go to before accepting', () => {
    const d = deal({ acceptedBySeller: false, payoutAddressSet: false });
    expect(codeOf(() => decide(d, { type: 'accept' }, actors.seller, T0))).toBe('address_required');
    const b = deal({ refundAddressSet: false });
    expect(codeOf(() => decide(b, { type: 'accept' }, actors.buyer, T0))).toBe('address_required');
  });

  it('a deal stops receiving when it leaves the collecting states; money after that goes to review', () => {
    const funded = deal({ state: 'funded', funding: 'funded', confirmed: 100n });
    const cancelled = decide(funded, { type: 'cancel' }, actors.seller, at(5));
    expect(cancelled.next.closedAt).toEqual(at(5));
    const more = decide(cancelled.next, { ...funding('overpaid') }, actors.system, at(9));
    expect([more.to, more.next.needsReview, more.reviewReasons]).toEqual([
      'refunding',
      true,
      ['funds_changed_after_close'],
    ]);
    expect(more.next.closedAt).toEqual(at(5));
    const same = decide(cancelled.next, funding('funded'), actors.system, at(9));
    expect(same.next.needsReview).toBe(false);
  });
});

describe('addresses and dispute messages', () => {
  it('an address may change until money arrives, then it is frozen', () => {
    const moved = decide(
      deal({ state: 'awaiting_payment', payoutAddressSet: false }),
      SAMPLE_ACTIONS.set_address,
      actors.seller,
      T0,
    );
    expect(moved.to).toBe('awaiting_payment');
    expect(moved.next.payoutAddressSet).toBe(true);
    expect(
      codeOf(() =>
        decide(
          deal({ state: 'awaiting_payment', confirming: 5n }),
          SAMPLE_ACTIONS.set_address,
          actors.buyer,
          T0,
        ),
      ),
    ).toBe('payment_already_received');
    expect(
      codeOf(() => decide(deal({ state: 'funded' }), SAMPLE_ACTIONS.set_address, actors.seller, T0)),
    ).toBe('action_not_allowed_in_state');
  });

  it('dispute messages need text and change nothing but the log', () => {
    const d = deal({ state: 'disputed', funding: 'funded', confirmed: 100n });
    const t = decide(d, SAMPLE_ACTIONS.dispute_message, actors.arbitrator, T0);
    expect(t.next).toEqual(d);
    expect(t.to).toBe('disputed');
    expect(codeOf(() => decide(d, { type: 'dispute_message', text: '  ' }, actors.buyer, T0))).toBe(
      'reason_required',
    );
  });
});

describe('operator review actions', () => {
  const stray = (over: Partial<Extract<DealAction, { type: 'decide_stray_funds' }>> = {}): DealAction => ({
    ...(SAMPLE_ACTIONS.decide_stray_funds as Extract<DealAction, { type: 'decide_stray_funds' }>),
    ...over,
  });

  it('stray funds are exactly the payment classes that carry a review reason', () => {
    const all: PaymentClass[] = [
      'counted',
      'confirming',
      'reorged',
      'ignored',
      'foreign',
      'late',
      'denylisted',
    ];
    expect(all.filter((c) => reviewReasonFor(c) !== undefined).sort()).toEqual(
      [...STRAY_FUNDS_CLASSES].sort(),
    );
  });

  it('deciding stray funds changes nothing but the log, in any state after draft', () => {
    for (const state of ['awaiting_payment', 'delivered', 'released', 'expired'] as const) {
      const d = deal({ state, funding: 'funded', confirmed: 100n, needsReview: true });
      for (const decision of ['refund', 'accept'] as const) {
        const t = decide(d, stray({ decision }), actors.operator, T0);
        expect([t.to, t.payout, t.next]).toEqual([state, null, d]);
      }
    }
    // A flag an operator already cleared does not stop a decision on funds found earlier.
    expect(decide(deal({ state: 'cancelled' }), stray(), actors.operator, T0).to).toBe('cancelled');
  });

  it('foreign or denylisted funds are only ever refunded; late funds may be accepted', () => {
    const d = deal({ state: 'released' });
    expect(decide(d, stray({ class: 'foreign', decision: 'refund' }), actors.operator, T0).to).toBe(
      'released',
    );
    expect(
      codeOf(() => decide(d, stray({ class: 'foreign', decision: 'accept' }), actors.operator, T0)),
    ).toBe('foreign_asset_not_acceptable');
    expect(decide(d, stray({ class: 'denylisted', decision: 'refund' }), actors.operator, T0).to).toBe(
      'released',
    );
    expect(
      codeOf(() => decide(d, stray({ class: 'denylisted', decision: 'accept' }), actors.operator, T0)),
    ).toBe('denylisted_funds_not_acceptable');
    expect(decide(d, stray({ class: 'late', decision: 'accept' }), actors.operator, T0).to).toBe('released');
  });

  it('a stray decision needs a note, an amount and, to accept, a seller payout address', () => {
    const d = deal({ state: 'expired' });
    expect(codeOf(() => decide(d, stray({ note: ' ' }), actors.operator, T0))).toBe('reason_required');
    expect(codeOf(() => decide(d, stray({ amount: 0n }), actors.operator, T0))).toBe('stray_amount_invalid');
    expect(
      codeOf(() =>
        decide(
          deal({ state: 'expired', payoutAddressSet: false }),
          stray({ decision: 'accept' }),
          actors.operator,
          T0,
        ),
      ),
    ).toBe('address_required');
    expect(codeOf(() => decide(deal(), stray(), actors.operator, T0))).toBe('action_not_allowed_in_state');
    expect(codeOf(() => decide(d, stray(), actors.arbitrator, T0))).toBe('actor_not_permitted');
  });

  /** Funded, delivered, then a reorg took part of the money: flagged, and nothing can be released. */
  const reorged = (confirmed: bigint): DealSnapshot => {
    const delivered = deal({ state: 'delivered', funding: 'funded', confirmed: 100n, closedAt: at(5) });
    const lost = decide(
      delivered,
      {
        type: 'record_funding',
        funding: confirmed > 0n ? 'partially_paid' : 'unpaid',
        confirmed,
        confirming: 0n,
        reviewReasons: [],
      },
      actors.system,
      at(10),
    );
    expect(lost.reviewReasons).toEqual(['funding_lost_after_progress']);
    return lost.next;
  };

  it('resolving a lost funding releases or refunds what is confirmed now and clears the flag', () => {
    const d = reorged(40n);
    expect(codeOf(() => decide(d, { type: 'confirm_receipt' }, actors.buyer, at(20)))).toBe(
      'deal_needs_review',
    );
    const release = decide(
      d,
      { type: 'resolve_review', outcome: { kind: 'release' }, note: 'seller delivered' },
      actors.operator,
      at(20),
    );
    expect([release.to, release.payout, release.next.needsReview]).toEqual([
      'releasing',
      { kind: 'release' },
      false,
    ]);
    const refund = decide(
      d,
      { type: 'resolve_review', outcome: { kind: 'refund' }, note: 'goods returned' },
      actors.operator,
      at(20),
    );
    expect([refund.to, refund.payout, refund.next.needsReview]).toEqual([
      'refunding',
      { kind: 'refund' },
      false,
    ]);
    // The deal stopped receiving at delivery; settling it does not move that moment.
    expect(refund.next.closedAt).toEqual(at(5));
  });

  it('with nothing confirmed left, a release is refused and a refund closes the deal at once', () => {
    const d = reorged(0n);
    expect(
      codeOf(() =>
        decide(d, { type: 'resolve_review', outcome: { kind: 'release' }, note: 'n' }, actors.operator, T0),
      ),
    ).toBe('not_funded');
    const closed = decide(
      d,
      { type: 'resolve_review', outcome: { kind: 'refund' }, note: 'n' },
      actors.operator,
      T0,
    );
    expect([closed.to, closed.payout, closed.next.needsReview]).toEqual(['refunded', null, false]);
  });

  it('resolving a review is only for a flagged deal whose funding is gone and settled', () => {
    const resolve: DealAction = { type: 'resolve_review', outcome: { kind: 'refund' }, note: 'n' };
    const intact = deal({ state: 'delivered', funding: 'funded', confirmed: 100n, needsReview: true });
    expect(codeOf(() => decide(intact, resolve, actors.operator, T0))).toBe('funding_intact');
    const unflagged = { ...reorged(40n), needsReview: false };
    expect(codeOf(() => decide(unflagged, resolve, actors.operator, T0))).toBe('review_not_flagged');
    const confirming = { ...reorged(40n), confirming: 60n };
    expect(codeOf(() => decide(confirming, resolve, actors.operator, T0))).toBe('payments_confirming');
    expect(codeOf(() => decide(reorged(40n), { ...resolve, note: '' }, actors.operator, T0))).toBe(
      'reason_required',
    );
    expect(codeOf(() => decide(reorged(40n), resolve, actors.arbitrator, T0))).toBe('actor_not_permitted');
    expect(codeOf(() => decide({ ...reorged(40n), state: 'releasing' }, resolve, actors.operator, T0))).toBe(
      'action_not_allowed_in_state',
    );
  });

  it('approving a payout changes no state; it lowers the flag only when storage says it was its last reason', () => {
    const approve = SAMPLE_ACTIONS.approve_payout as Extract<DealAction, { type: 'approve_payout' }>;
    const flagged = deal({ state: 'releasing', funding: 'funded', confirmed: 100n, needsReview: true });
    const kept = decide(flagged, approve, actors.operator, T0);
    expect([kept.to, kept.payout, kept.next, kept.reviewReasons]).toEqual(['releasing', null, flagged, []]);
    const closed = decide(flagged, { ...approve, closesReview: true }, actors.operator, T0);
    expect([closed.to, closed.next.needsReview]).toEqual(['releasing', false]);
    // Not flagged (an operator cleared it first): nothing to lower, and the approval still goes through.
    const unflagged = { ...flagged, needsReview: false };
    expect(decide(unflagged, { ...approve, closesReview: true }, actors.operator, T0).next).toEqual(
      unflagged,
    );
    expect(codeOf(() => decide(flagged, { ...approve, note: ' ' }, actors.operator, T0))).toBe(
      'reason_required',
    );
    expect(codeOf(() => decide(flagged, { ...approve, amount: 0n }, actors.operator, T0))).toBe(
      'payout_amount_invalid',
    );
    expect(codeOf(() => decide(flagged, approve, actors.system, T0))).toBe('actor_not_permitted');
    expect(codeOf(() => decide(deal(), approve, actors.operator, T0))).toBe('action_not_allowed_in_state');
  });

  it('retrying failed payouts changes no state; it needs a note and something to retry', () => {
    const retry = SAMPLE_ACTIONS.retry_payouts as Extract<DealAction, { type: 'retry_payouts' }>;
    const flagged = deal({ state: 'releasing', funding: 'funded', confirmed: 100n, needsReview: true });
    const kept = decide(flagged, retry, actors.operator, T0);
    expect([kept.to, kept.payout, kept.next, kept.reviewReasons]).toEqual(['releasing', null, flagged, []]);
    expect(decide(flagged, { ...retry, closesReview: true }, actors.operator, T0).next.needsReview).toBe(
      false,
    );
    expect(codeOf(() => decide(flagged, { ...retry, note: '' }, actors.operator, T0))).toBe(
      'reason_required',
    );
    expect(codeOf(() => decide(flagged, { ...retry, records: [] }, actors.operator, T0))).toBe(
      'nothing_to_retry',
    );
    expect(codeOf(() => decide(flagged, retry, actors.buyer, T0))).toBe('actor_not_permitted');
  });
});

describe('random action sequences', () => {
  const fundingArb = fc.constantFrom('unpaid', 'partially_paid', 'funded', 'overpaid') as fc.Arbitrary<
    DealSnapshot['funding']
  >;
  const actionArb: fc.Arbitrary<DealAction> = fc.oneof(
    fc.constant<DealAction>({ type: 'accept' }),
    fc.constant<DealAction>({ type: 'cancel' }),
    fc.record({ status: fundingArb, review: fc.boolean(), confirming: fc.boolean() }).map(
      ({ status, review, confirming }): DealAction => ({
        ...(funding(status, review ? ['late_payment'] : []) as Extract<
          DealAction,
          { type: 'record_funding' }
        >),
        confirming: confirming ? 10n : 0n,
      }),
    ),
    fc.constant<DealAction>({ type: 'expire' }),
    fc.constant<DealAction>({ type: 'mark_delivered' }),
    fc.constant<DealAction>({ type: 'confirm_receipt' }),
    fc.constant<DealAction>({ type: 'open_dispute', reason: 'r' }),
    fc.constantFrom<DealAction>(
      { type: 'resolve_dispute', outcome: { kind: 'release' } },
      { type: 'resolve_dispute', outcome: { kind: 'refund' } },
      { type: 'resolve_dispute', outcome: { kind: 'split', buyerAmount: 1n } },
    ),
    fc.constant<DealAction>({ type: 'inspection_lapsed' }),
    fc.constant<DealAction>({ type: 'delivery_lapsed' }),
    fc.constant<DealAction>({ type: 'payouts_confirmed' }),
    fc.constant<DealAction>({ type: 'flag_review', reason: 'r' }),
    fc.constant<DealAction>({ type: 'clear_review', note: 'n' }),
    fc.constantFrom<DealAction>(
      { type: 'resolve_review', outcome: { kind: 'release' }, note: 'n' },
      { type: 'resolve_review', outcome: { kind: 'refund' }, note: 'n' },
    ),
    fc
      .record({
        class: fc.constantFrom(...STRAY_FUNDS_CLASSES),
        decision: fc.constantFrom('refund' as const, 'accept' as const),
      })
      .map((over) => ({ ...SAMPLE_ACTIONS.decide_stray_funds, ...over }) as DealAction),
    fc.boolean().map((closesReview) => ({ ...SAMPLE_ACTIONS.approve_payout, closesReview }) as DealAction),
  );
  const stepArb = fc.record({
    action: actionArb,
    role: fc.constantFrom(...ALL),
    advance: fc.integer({ min: 0, max: 100 * HOUR }),
  });

  it('never reach an undefined state, release unfunded money, or decide the same money twice', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        let d = deal();
        let now = T0;
        const decisions: string[] = [];
        for (const step of steps) {
          now = new Date(now.getTime() + step.advance * 1000);
          let t: ReturnType<typeof decide>;
          try {
            t = decide(d, step.action, actors[step.role], now);
          } catch (err) {
            if (err instanceof DomainError) continue;
            throw err;
          }
          expect(DEAL_STATES).toContain(t.to);
          if (TERMINAL_STATES.includes(d.state)) expect(t.to).toBe(d.state);
          // Stray funds never touch the deal: their payout is their own.
          if (step.action.type === 'decide_stray_funds') expect(t.next).toEqual(d);
          // An approval moves no state and decides no money; at most it lowers the flag.
          if (step.action.type === 'approve_payout') {
            expect([t.to, t.payout]).toEqual([d.state, null]);
            expect(t.next).toEqual({ ...d, needsReview: d.needsReview && !step.action.closesReview });
          }
          if (t.to === 'refunded' && d.state !== 'refunded' && d.state !== 'refunding') {
            // Straight to refunded only when an operator closes a deal that holds nothing any more.
            expect([step.action.type, d.confirmed]).toEqual(['resolve_review', 0n]);
            decisions.push('refund');
          }
          if (t.payout && step.action.type === 'resolve_review') {
            // An operator settles a deal whose funding was lost: only while flagged, only from what is
            // confirmed, and the review is closed by it.
            decisions.push(t.payout.kind);
            expect(d.needsReview).toBe(true);
            expect(isFullyFunded(d.funding)).toBe(false);
            expect(d.confirmed > 0n).toBe(true);
            expect(t.next.needsReview).toBe(false);
          } else if (t.payout) {
            decisions.push(t.payout.kind);
            if (t.payout.kind !== 'refund') {
              // Money is released only from confirmed full funding with nothing left to review.
              expect(isFullyFunded(d.funding)).toBe(true);
              expect(d.needsReview).toBe(false);
            }
          }
          // A release or split is decided only from a funded deal (a deal already releasing may stay so,
          // flagged, when a reorg takes its funding away meanwhile).
          if ((t.to === 'releasing' || t.to === 'splitting') && t.to !== d.state)
            expect(['funded', 'delivered', 'disputed']).toContain(d.state);
          d = t.next;
        }
        // One decision per deal at most: never both a release and a refund of the same money.
        expect(decisions.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 3000 },
    );
  });
});
