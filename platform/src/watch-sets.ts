import { type DealState, RECEIVING_STATES, redisKeys } from '@amanat/core';
import type { Redis } from 'ioredis';
import type { Queryable } from './db.ts';

export interface WatchSetRebuildOptions {
  db: Queryable;
  redis: Redis;
  prefix: string;
  /** The chains the scanner watches; every deposit address is watched on each of them. */
  chainIds: readonly number[];
  /** Deposit addresses read (and written to Redis) at a time. */
  batchSize?: number;
}

export interface WatchSetRebuildResult {
  /** Addresses of deals that may still receive money, made sure of in each hot set. */
  hot: number;
  /** Addresses of deals that never can again, moved to (or made sure of in) each cold set. */
  cold: number;
}

/**
 * A draft never has a deposit address (it is allocated when the deal starts awaiting payment), but one
 * imported from the legacy store might; it may still start, so it stays hot.
 */
const mayReceive = (state: DealState): boolean => state === 'draft' || RECEIVING_STATES.includes(state);

/**
 * Rebuilds the scanner's watch sets from PostgreSQL after Redis lost them (or anything in them): the
 * deposit address of every deal that may still receive money goes into each chain's hot set, and every
 * other deposit address ever allocated into its cold set, lower-cased as the scanner compares them.
 *
 * It only adds, and moves an address from hot to cold only when PostgreSQL says its deal can never
 * receive again (leaving the receiving states is final in the state machine). Whatever else is in a
 * set stays, so the API adding a new deal's address while this runs, for a deal this read has not
 * seen, is never undone; no set is ever deleted or replaced. The addresses are read in pages of the
 * derivation index (unique, so indexed), and each page's writes go out in one MULTI, so the scanner
 * never sees an address in neither set.
 */
export async function rebuildWatchSets(opts: WatchSetRebuildOptions): Promise<WatchSetRebuildResult> {
  const keys = redisKeys(opts.prefix);
  const batchSize = opts.batchSize ?? 5000;
  const result: WatchSetRebuildResult = { hot: 0, cold: 0 };
  let after = '-1';
  for (;;) {
    const { rows } = await opts.db.query({
      name: 'watch-sets-page',
      text: `SELECT da.derivation_index::text AS derivation_index, lower(da.address) AS address, d.state
        FROM deposit_addresses da JOIN deals d ON d.id = da.deal_id
        WHERE da.derivation_index > $1
        ORDER BY da.derivation_index
        LIMIT $2`,
      values: [after, batchSize],
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1].derivation_index;

    const hot: string[] = [];
    const closed: string[] = [];
    for (const row of rows) (mayReceive(row.state) ? hot : closed).push(row.address);
    if (opts.chainIds.length > 0) {
      const multi = opts.redis.multi();
      for (const chainId of opts.chainIds) {
        if (hot.length > 0) multi.sadd(keys.watchSet(chainId), ...hot);
        if (closed.length > 0) {
          // Into cold before out of hot: at no point is the address watched by neither.
          multi.sadd(keys.coldWatchSet(chainId), ...closed);
          multi.srem(keys.watchSet(chainId), ...closed);
        }
      }
      const replies = await multi.exec();
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw failed?.[0] ?? new Error('the watch-set transaction was discarded');
    }
    result.hot += hot.length;
    result.cold += closed.length;
    if (rows.length < batchSize) break;
  }
  return result;
}
