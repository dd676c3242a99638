import { JOBS, QUEUES } from '@amanat/core';
import type { Queryable } from './db.ts';
import type { StorageMode } from './deals/effects.ts';

export interface UserRecord {
  id: string;
  telegramId: bigint | null;
  username: string | null;
  displayName: string;
  language: string;
  telegramReachable: boolean;
  version: number;
}

// biome-ignore lint/suspicious/noExplicitAny: a pg row is untyped until mapped here
const fromRow = (r: Record<string, any>): UserRecord => ({
  id: r.id,
  telegramId: r.telegram_id === null ? null : BigInt(r.telegram_id),
  username: r.username,
  displayName: r.display_name,
  language: r.language,
  telegramReachable: r.telegram_reachable,
  version: r.version,
});

/**
 * Creates or refreshes the user behind a Telegram account; the Telegram id is the stable identity. The
 * language is set only on creation: afterwards it is the user's own choice. In dual storage mode a
 * created or changed user is mirrored to the legacy store through the outbox, in the same statement
 * (the job id and payload are those of core's `mirrorJobId`, checked by a test).
 */
export async function upsertTelegramUser(
  db: Queryable,
  input: { telegramId: bigint; username?: string | null; displayName?: string; language?: string },
  opts: { storageMode?: StorageMode } = {},
): Promise<UserRecord> {
  const { rows } = await db.query(
    `WITH u AS (
       INSERT INTO users (telegram_id, username, display_name, language) VALUES ($1, $2, $3, $4)
       ON CONFLICT (telegram_id) DO UPDATE SET username = EXCLUDED.username, display_name = EXCLUDED.display_name,
         version = users.version + 1, updated_at = now()
         WHERE (users.username, users.display_name) IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.display_name)
       RETURNING *
     ), mirror AS (
       INSERT INTO outbox (kind, target, name, job_id, payload)
       SELECT 'job', $6, $7, 'user-' || id || '-' || version,
         jsonb_build_object('entity', 'user', 'id', id, 'version', version)
       FROM u WHERE $5
     )
     SELECT * FROM u`,
    [
      input.telegramId.toString(),
      input.username ?? null,
      input.displayName ?? '',
      input.language ?? 'en',
      opts.storageMode === 'dual',
      QUEUES.mirror,
      JOBS.mirror[0],
    ],
  );
  if (rows[0]) return fromRow(rows[0]);
  const existing = await db.query('SELECT * FROM users WHERE telegram_id = $1', [
    input.telegramId.toString(),
  ]);
  return fromRow(existing.rows[0]);
}

export async function getUser(db: Queryable, id: string): Promise<UserRecord | null> {
  const { rows } = await db.query('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function getUserByTelegramId(db: Queryable, telegramId: bigint): Promise<UserRecord | null> {
  const { rows } = await db.query('SELECT * FROM users WHERE telegram_id = $1', [telegramId.toString()]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/**
 * Sets the language a user chose (stored as given: `localeOf` maps it when texts are written). In dual
 * storage mode the change is mirrored like any other user change.
 */
export async function setUserLanguage(
  db: Queryable,
  userId: string,
  language: string,
  opts: { storageMode?: StorageMode } = {},
): Promise<UserRecord | null> {
  const { rows } = await db.query(
    `WITH u AS (
       UPDATE users SET language = $2, version = version + 1, updated_at = now()
       WHERE id = $1 RETURNING *
     ), mirror AS (
       INSERT INTO outbox (kind, target, name, job_id, payload)
       SELECT 'job', $4, $5, 'user-' || id || '-' || version,
         jsonb_build_object('entity', 'user', 'id', id, 'version', version)
       FROM u WHERE $3
     )
     SELECT * FROM u`,
    [userId, language, opts.storageMode === 'dual', QUEUES.mirror, JOBS.mirror[0]],
  );
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Marks whether Telegram can reach the user (false after a 403: they blocked the bot). */
export async function setTelegramReachable(db: Queryable, userId: string, reachable: boolean): Promise<void> {
  await db.query(
    'UPDATE users SET telegram_reachable = $2, updated_at = now() WHERE id = $1 AND telegram_reachable <> $2',
    [userId, reachable],
  );
}
