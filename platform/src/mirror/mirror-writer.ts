import { type MirrorJob, mirrorJobSchema } from '@amanat/core';
import type { Pool, Queryable } from '../db.ts';
import { type DealRecord, partyIds } from '../deals/record.ts';
import { DealStore } from '../deals/store.ts';
import { getUser } from '../users.ts';
import { toLegacyDeal, toLegacyUser } from './legacy-shape.ts';
import type { LegacyMirror, MirrorWriteResult } from './mirror.ts';

export type MirrorJobResult = MirrorWriteResult | 'gone';

/** Telegram ids of a deal's parties, which the legacy deal document carries inline. */
export async function partyTelegramIds(
  db: Queryable,
  deals: ReadonlyArray<Pick<DealRecord, 'seller' | 'buyer'>>,
): Promise<Map<string, bigint | null>> {
  const ids = [...new Set(deals.flatMap(partyIds))];
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; telegram_id: string | null }>(
    'SELECT id, telegram_id FROM users WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.telegram_id === null ? null : BigInt(r.telegram_id)]));
}

/**
 * Handles one `mirror` job. The job names an entity and the version whose commit caused it, but the
 * document written is built from the row as it is NOW: a late or repeated job then writes the newest
 * state (or nothing, when the mirror already has it), and a job never carries data that could be stale.
 */
export class MirrorWriter {
  private readonly pool: Pool;
  private readonly mirror: LegacyMirror;
  private readonly store: DealStore;

  constructor(opts: { pool: Pool; mirror: LegacyMirror }) {
    this.pool = opts.pool;
    this.mirror = opts.mirror;
    this.store = new DealStore({ pool: opts.pool });
  }

  async handle(job: MirrorJob): Promise<MirrorJobResult> {
    const { entity, id } = mirrorJobSchema.parse(job);
    if (entity === 'deal') {
      const deal = await this.store.get(id);
      if (!deal) return 'gone';
      return this.mirror.writeDeal(toLegacyDeal(deal, await partyTelegramIds(this.pool, [deal])));
    }
    const user = await getUser(this.pool, id);
    if (!user) return 'gone';
    return this.mirror.writeUser(toLegacyUser(user));
  }
}
