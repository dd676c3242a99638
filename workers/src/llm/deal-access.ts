import { DEAL_STATES, TERMINAL_STATES } from '@amanat/core';
import {
  type DealPaymentRow,
  type DealRecord,
  getDealWithPayments,
  listDeals,
  type Queryable,
  readActivity,
} from '@amanat/platform';

/**
 * Deals as the assistant may see them: only those the user is the seller or buyer of. Every lookup is
 * scoped to the user in the query itself, so a deal of someone else is indistinguishable from one that
 * does not exist.
 */

export type PartyRole = 'seller' | 'buyer';

export interface UserDeal {
  deal: DealRecord & { payments: DealPaymentRow[] };
  role: PartyRole;
}

export type DealLookup =
  | { kind: 'found'; deal: UserDeal }
  | { kind: 'not_found' }
  | { kind: 'ambiguous'; deals: DealRecord[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A leading part of a deal id (as shown after #) or of an invite code; shorter is too easy to collide. */
const REF_PREFIX = /^[0-9a-zA-Z-]{4,36}$/;

/** The short id people see after # in the assistant's answers: the id's first eight characters. */
export const shortId = (id: string): string => id.slice(0, 8);

export const roleOf = (deal: Pick<DealRecord, 'seller' | 'buyer'>, userId: string): PartyRole | null =>
  deal.seller?.userId === userId ? 'seller' : deal.buyer?.userId === userId ? 'buyer' : null;

/** The user's deal with its payments, or null when it does not exist or is not theirs. */
export async function loadUserDeal(db: Queryable, userId: string, dealId: string): Promise<UserDeal | null> {
  if (!UUID.test(dealId)) return null;
  const deal = await getDealWithPayments(db, dealId);
  if (!deal) return null;
  const role = roleOf(deal, userId);
  return role ? { deal, role } : null;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Finds one of the user's deals from what a person or the model wrote: a full id, the short id, an
 * invite code or its beginning, or words of the title.
 */
export async function findUserDeal(db: Queryable, userId: string, reference: string): Promise<DealLookup> {
  const ref = reference.trim().replace(/^#/, '').slice(0, 200);
  if (ref.length === 0) return { kind: 'not_found' };
  if (UUID.test(ref)) {
    const found = await loadUserDeal(db, userId, ref.toLowerCase());
    return found ? { kind: 'found', deal: found } : { kind: 'not_found' };
  }
  const byPrefix = REF_PREFIX.test(ref);
  const { rows } = await db.query(
    `SELECT d.id FROM deals d
       JOIN deal_parties p ON p.deal_id = d.id AND p.user_id = $1
      WHERE ($2::boolean AND (d.id::text LIKE $3 OR d.invite_code LIKE $4))
         OR (length($5) >= 3 AND d.title ILIKE '%' || $5 || '%')
      ORDER BY d.created_at DESC
      LIMIT 6`,
    [
      userId,
      byPrefix,
      `${escapeLike(ref.toLowerCase())}%`,
      `${escapeLike(ref.toUpperCase())}%`,
      escapeLike(ref),
    ],
  );
  const ids = rows.map((r) => r.id as string);
  if (ids.length === 0) return { kind: 'not_found' };
  if (ids.length > 1) {
    const deals = await Promise.all(ids.map((id) => loadUserDeal(db, userId, id)));
    return { kind: 'ambiguous', deals: deals.flatMap((d) => (d ? [d.deal] : [])) };
  }
  const found = await loadUserDeal(db, userId, ids[0] as string);
  return found ? { kind: 'found', deal: found } : { kind: 'not_found' };
}

const OPEN_STATES = DEAL_STATES.filter((s) => !TERMINAL_STATES.includes(s));

/** The user's deals, newest first: open ones only unless `includeClosed`. */
export async function listUserDeals(
  db: Queryable,
  userId: string,
  opts: { includeClosed: boolean; limit: number },
): Promise<{ deals: DealRecord[]; more: boolean }> {
  const { deals, next } = await listDeals(
    db,
    { kind: 'party', userId },
    {
      limit: opts.limit,
      ...(opts.includeClosed ? {} : { states: OPEN_STATES }),
    },
  );
  return { deals, more: next !== null };
}

export interface DisputeNote {
  from: 'seller' | 'buyer' | 'arbitrator' | 'operator' | 'system';
  at: string;
  text: string;
}

/** What the parties and the arbitrator wrote in the deal's dispute, newest last (at most `limit`). */
export async function disputeNotes(db: Queryable, dealId: string, limit = 6): Promise<DisputeNote[]> {
  const entries = await readActivity(db, dealId);
  const notes: DisputeNote[] = [];
  for (const e of entries) {
    const text =
      e.action === 'open_dispute'
        ? e.facts.reason
        : e.action === 'dispute_message'
          ? e.facts.text
          : undefined;
    if (typeof text !== 'string') continue;
    const from = e.actor.kind === 'system' ? 'system' : e.actor.role;
    notes.push({ from, at: e.at, text: text.slice(0, 1000) });
  }
  return notes.slice(-limit);
}

const ID_REF = /#?\b([0-9a-f]{8}(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?)\b/giu;
const INVITE_REF = /\b([A-HJ-NP-Z2-9]{10})\b/gu;
/** References looked up per message at most: each is a query, and a message may be full of id-like words. */
export const MAX_DEAL_REFERENCES = 5;

/** What in a message may name a deal (an id, a short id, an invite code): distinct, and at most a few. */
export function dealReferences(text: string): string[] {
  const refs = [...text.matchAll(ID_REF), ...text.matchAll(INVITE_REF)].map((m) =>
    (m[1] as string).toLowerCase(),
  );
  return [...new Set(refs)].slice(0, MAX_DEAL_REFERENCES);
}

/** The first of the user's deals a message names by id, short id or invite code, or null. */
export async function namedDealId(db: Queryable, userId: string, text: string): Promise<string | null> {
  for (const ref of dealReferences(text)) {
    const found = await findUserDeal(db, userId, ref);
    if (found.kind === 'found') return found.deal.deal.id;
  }
  return null;
}
