import { createHash } from 'node:crypto';
import { canonicalJson } from '@amanat/core';
import type { Pool } from '@amanat/platform';
import { ApiError } from './problem.ts';
import type { IdempotencyGate } from './route.ts';

export const IDEMPOTENCY_TTL_HOURS = 24;
/** How long a request may hold its key without answering before a retry may take the key over. */
export const CLAIM_LEASE_SEC = 60;

const requestHash = (body: unknown): string => {
  let text: string;
  try {
    text = canonicalJson(body ?? null);
  } catch {
    // A body canonical JSON refuses (for example a float) still has one stable form.
    text = JSON.stringify(body ?? null);
  }
  return createHash('sha256').update(text).digest('hex');
};

/**
 * Idempotency keys in PostgreSQL, scoped to (user, method and path), kept 24 hours. The first request
 * claims the key with a row that has no answer yet; the answer is stored when it is known. A second
 * request with the key while the first runs gets 409; afterwards it gets the stored answer; with a
 * different body it gets 422.
 */
export function createIdempotencyGate(pool: Pool): IdempotencyGate {
  return {
    async begin(caller, scope, key, body) {
      const hash = requestHash(body);
      const userId = caller.user.id;
      const { rows } = await pool.query(
        `INSERT INTO idempotency_keys (user_id, route, key, request_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5))
         ON CONFLICT (user_id, route, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, status_code = NULL, response = NULL,
               created_at = now(), expires_at = EXCLUDED.expires_at
           WHERE idempotency_keys.expires_at < now()
              -- A claim whose request never answered (its process died) is taken over after a lease,
              -- by the same request only.
              OR (idempotency_keys.status_code IS NULL
                  AND idempotency_keys.created_at < now() - make_interval(secs => $6)
                  AND idempotency_keys.request_hash = EXCLUDED.request_hash)
         RETURNING 1`,
        [userId, scope, key, hash, IDEMPOTENCY_TTL_HOURS, CLAIM_LEASE_SEC],
      );
      if (rows.length === 0) {
        const existing = await pool.query(
          'SELECT request_hash, status_code, response FROM idempotency_keys WHERE user_id = $1 AND route = $2 AND key = $3',
          [userId, scope, key],
        );
        const row = existing.rows[0];
        if (!row)
          throw new ApiError(409, 'idempotency_in_progress', 'Try again', {
            headers: { 'Retry-After': '1' },
          });
        if (row.request_hash !== hash) {
          throw new ApiError(
            422,
            'idempotency_key_reused',
            'This Idempotency-Key was used with a different request; use a new key for a new request',
          );
        }
        if (row.status_code === null) {
          throw new ApiError(
            409,
            'idempotency_in_progress',
            'A request with this Idempotency-Key is still running',
            {
              headers: { 'Retry-After': '1' },
            },
          );
        }
        // Kept as the JSON text (a jsonb string): jsonb would reorder the keys of an object.
        const body = typeof row.response === 'string' ? JSON.parse(row.response) : row.response;
        return { replay: { status: row.status_code, body } };
      }
      return {
        ticket: {
          async finish(status, response) {
            await pool.query(
              `UPDATE idempotency_keys SET status_code = $4, response = $5
               WHERE user_id = $1 AND route = $2 AND key = $3`,
              [userId, scope, key, status, JSON.stringify(JSON.stringify(response))],
            );
          },
          async abandon() {
            await pool.query(
              'DELETE FROM idempotency_keys WHERE user_id = $1 AND route = $2 AND key = $3 AND status_code IS NULL',
              [userId, scope, key],
            );
          },
        },
      };
    },
  };
}

/** Removes expired keys; the API runs it hourly (any process may, it is idempotent). */
export async function pruneIdempotencyKeys(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query('DELETE FROM idempotency_keys WHERE expires_at < now()');
  return rowCount ?? 0;
}
