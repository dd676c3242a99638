import type { KeyObject } from 'node:crypto';
import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type Checkpoint,
  checkDealAgainstCheckpoint,
  checkpointToLine,
  createCheckpoint,
} from '@amanat/core';
import { type Pool, readActivity, readCheckpoints, readLogHeads, withTransaction } from '@amanat/platform';
import type { Logger } from 'pino';

/** Any fixed number: it only has to keep two checkpoint writers from signing at the same time. */
const CHECKPOINT_LOCK = 7_311_021;

/**
 * Signs the heads of every deal's activity chain with a key the database never sees and appends the
 * result to a file outside the database. Before signing, every deal that moved since the last
 * checkpoint is checked against it, so a rewritten history is reported instead of being signed over.
 */
export class CheckpointWriter {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  private readonly opts: { pool: Pool; key: KeyObject; file: string; intervalSec: number; logger: Logger };

  constructor(opts: { pool: Pool; key: KeyObject; file: string; intervalSec: number; logger: Logger }) {
    this.opts = opts;
  }

  async writeOnce(now = new Date()): Promise<Checkpoint | null> {
    const { pool, key, file, logger } = this.opts;
    return withTransaction(pool, async (tx) => {
      const { rows } = await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [CHECKPOINT_LOCK]);
      if (!rows[0].locked) return null;
      const previous = (await readCheckpoints(file)).at(-1) ?? null;
      // The moment before the heads are read, so no entry newer than `at` can be missing from them.
      const at = new Date(now.getTime() - 1).toISOString();
      const heads = await readLogHeads(tx);
      if (previous) {
        const before = new Map(previous.heads.map((h) => [h.dealId, h]));
        for (const head of heads) {
          const old = before.get(head.dealId);
          // Only chains the last checkpoint pinned can have been rewritten under it; a deal new since
          // then (even one stamped a moment before it, by a slower clock) has nothing to check yet.
          if (!old || (old.seq === head.seq && old.hash === head.hash)) continue;
          const check = checkDealAgainstCheckpoint(
            head.dealId,
            await readActivity(tx, head.dealId),
            previous,
          );
          if (!check.ok) {
            logger.error(
              { dealId: head.dealId, reason: check.reason },
              'activity log does not match the last checkpoint',
            );
            throw new Error(
              `activity log of deal ${head.dealId} does not match the last checkpoint: ${check.reason}`,
            );
          }
        }
      }
      const checkpoint = createCheckpoint({ at, heads, previous }, key);
      await mkdir(dirname(file), { recursive: true });
      await appendFile(file, checkpointToLine(checkpoint));
      const fh = await open(file, 'r');
      await fh.sync();
      await fh.close();
      logger.info({ deals: heads.length, digest: checkpoint.digest }, 'activity checkpoint written');
      return checkpoint;
    });
  }

  start(): void {
    const tick = () => {
      this.running = this.writeOnce()
        .catch((err) => this.opts.logger.error({ err }, 'activity checkpoint failed'))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(tick, this.opts.intervalSec * 1000);
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
