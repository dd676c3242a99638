import { type Actor, appendEntry } from '@amanat/core';
import pg from 'pg';
import type { Pool, PoolClient } from '../db.ts';
import { insertActivity } from '../deals/activity.ts';
import { DEAL_ROW_COLUMNS, dealRowValues, placeholders } from '../deals/record.ts';
import {
  describeIssues,
  type LegacyDealDoc,
  type LegacyPartyFields,
  legacyDealSchema,
  legacyDealToRecordFields,
  legacyIdOf,
  legacyUserSchema,
} from './legacy-shape.ts';

export interface BackfillReport {
  imported: number;
  /** Already in PostgreSQL, left as they are: PostgreSQL is the source of truth. */
  skipped: number;
  invalid: Array<{ id: string; reason: string }>;
}

export const BACKFILL_ACTOR: Actor = { kind: 'system', component: 'backfill' };

// Integrity (23) and data (22) errors mean this document cannot go in as it is; anything else (a lost
// connection, a missing table) is the run's problem and stops it instead of marking every document.
const isDocumentError = (error: unknown): error is pg.DatabaseError =>
  error instanceof pg.DatabaseError && /^2[23]/.test(error.code ?? '');

const documentReason = (error: pg.DatabaseError): string =>
  `rejected by PostgreSQL: ${error.message}${error.detail ? ` (${error.detail})` : ''}`;

async function inTransaction<T>(
  pool: Pool,
  fn: (tx: PoolClient) => Promise<T | 'rollback'>,
): Promise<T | 'rollback'> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const result = await fn(tx);
    await tx.query(result === 'rollback' ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (error) {
    await tx.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}

/**
 * The PostgreSQL user for a legacy party. The Telegram id is the stable identity: an existing user with
 * it is reused; otherwise the user is created under the legacy user id, so both stores keep naming the
 * same person by the same id. A party without a Telegram id keeps its legacy id.
 */
async function resolveUser(tx: PoolClient, party: LegacyPartyFields): Promise<string> {
  if (party.telegramId === null) {
    await tx.query('INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING', [party.legacyUserId]);
    return party.legacyUserId;
  }
  const telegramId = party.telegramId.toString();
  const byTelegram = async () =>
    (await tx.query<{ id: string }>('SELECT id FROM users WHERE telegram_id = $1', [telegramId])).rows[0]?.id;
  await tx.query('INSERT INTO users (id, telegram_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    party.legacyUserId,
    telegramId,
  ]);
  const found = await byTelegram();
  if (found) return found;
  // The legacy id already names a different PostgreSQL user: this person gets an id of their own.
  await tx.query('INSERT INTO users (telegram_id) VALUES ($1) ON CONFLICT (telegram_id) DO NOTHING', [
    telegramId,
  ]);
  const created = await byTelegram();
  if (!created) throw new Error(`backfill: could not create a user for Telegram id ${telegramId}`);
  return created;
}

/** The creator accepted the terms by creating them, so their acceptance carries the creation time. */
const creatorRole = (doc: LegacyDealDoc): 'seller' | 'buyer' => {
  const created = doc.createdAt.getTime();
  if (doc.buyer?.acceptedAt?.getTime() === created && doc.seller?.acceptedAt?.getTime() !== created)
    return 'buyer';
  return doc.seller ? 'seller' : 'buyer';
};

async function importDeal(pool: Pool, doc: LegacyDealDoc, now: Date): Promise<'imported' | 'skipped'> {
  const { rows: existing } = await pool.query('SELECT 1 FROM deals WHERE id = $1', [doc._id]);
  if (existing.length > 0) return 'skipped';
  const { record: d, seller, buyer } = legacyDealToRecordFields(doc);
  const entry = appendEntry(null, {
    dealId: d.id,
    at: now.toISOString(),
    actor: BACKFILL_ACTOR,
    action: 'import_legacy',
    stateBefore: null,
    stateAfter: d.state,
    facts: { source: 'mongodb', legacyVersion: doc.version, legacyUpdatedAt: doc.updatedAt.toISOString() },
  });

  const outcome = await inTransaction(pool, async (tx) => {
    const parties: Array<['seller' | 'buyer', LegacyPartyFields, string]> = [];
    for (const [role, party] of [
      ['seller', seller],
      ['buyer', buyer],
    ] as const) {
      if (party) parties.push([role, party, await resolveUser(tx, party)]);
    }
    const createdBy = parties.find(([role]) => role === creatorRole(doc))?.[2];
    if (!createdBy) throw new Error(`backfill: deal ${d.id} has no party to be its creator`);

    const row = dealRowValues({ ...d, createdBy, logSeq: entry.seq, logHead: entry.hash });
    const { rowCount } = await tx.query(
      `INSERT INTO deals (${DEAL_ROW_COLUMNS.join(', ')}) VALUES (${placeholders(1, row.length)})
       ON CONFLICT (id) DO NOTHING`,
      row,
    );
    // Another run imported it since the check above; undo the user rows this attempt may have added.
    if (rowCount === 0) return 'rollback';

    for (const [role, party, userId] of parties) {
      await tx.query(
        `INSERT INTO deal_parties (deal_id, role, user_id, address, joined_at, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [d.id, role, userId, party.address, party.acceptedAt ?? d.createdAt, party.acceptedAt],
      );
    }
    if (d.deposit) {
      const index = d.deposit.index.toString();
      await tx.query(
        'INSERT INTO deposit_addresses (deal_id, derivation_index, address) VALUES ($1, $2, $3)',
        [d.id, index, d.deposit.address],
      );
      // New deals take indexes from the sequence: move it past every imported index so none is handed
      // out twice. (A deal created concurrently could still take this index first; one of the two inserts
      // then fails on the unique index, so an address is never shared.)
      await tx.query(
        `SELECT setval('deposit_index_seq', $1::bigint)
         WHERE $1::bigint >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM deposit_index_seq)`,
        [index],
      );
    }
    await insertActivity(tx, entry);
    return 'imported' as const;
  });
  return outcome === 'rollback' ? 'skipped' : outcome;
}

/**
 * Imports legacy deal documents into PostgreSQL, each in its own transaction, idempotently: a deal that
 * is already there is skipped and left untouched, so a second run imports nothing. Every imported deal
 * starts its activity log with an `import_legacy` entry naming the legacy version it came from.
 */
export async function backfillDeals(opts: {
  pool: Pool;
  docs: AsyncIterable<unknown> | Iterable<unknown>;
  now?: Date;
}): Promise<BackfillReport> {
  const now = opts.now ?? new Date();
  const report: BackfillReport = { imported: 0, skipped: 0, invalid: [] };
  for await (const raw of opts.docs) {
    const parsed = legacyDealSchema.safeParse(raw);
    if (!parsed.success) {
      report.invalid.push({ id: legacyIdOf(raw), reason: describeIssues(parsed.error) });
      continue;
    }
    try {
      report[await importDeal(opts.pool, parsed.data, now)] += 1;
    } catch (error) {
      if (!isDocumentError(error)) throw error;
      report.invalid.push({ id: parsed.data._id, reason: documentReason(error) });
    }
  }
  return report;
}

/**
 * Imports legacy user documents. Run it before `backfillDeals`: the deal import only knows a party's
 * id and Telegram id, and reuses the user found here with its name and language.
 */
export async function backfillUsers(opts: {
  pool: Pool;
  docs: AsyncIterable<unknown> | Iterable<unknown>;
}): Promise<BackfillReport> {
  const report: BackfillReport = { imported: 0, skipped: 0, invalid: [] };
  for await (const raw of opts.docs) {
    const parsed = legacyUserSchema.safeParse(raw);
    if (!parsed.success) {
      report.invalid.push({ id: legacyIdOf(raw), reason: describeIssues(parsed.error) });
      continue;
    }
    const u = parsed.data;
    try {
      // Either key already taken means PostgreSQL knows this person (or this id) already, and wins.
      const { rowCount } = await opts.pool.query(
        `INSERT INTO users (id, telegram_id, username, display_name, language, version)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [u._id, u.telegramId, u.username, u.displayName, u.language, u.version],
      );
      report[rowCount === 0 ? 'skipped' : 'imported'] += 1;
    } catch (error) {
      if (!isDocumentError(error)) throw error;
      report.invalid.push({ id: u._id, reason: documentReason(error) });
    }
  }
  return report;
}
