import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type ChainVerification,
  type Checkpoint,
  checkDealAgainstCheckpoint,
  parseCheckpointLines,
  verifyChain,
  verifyCheckpointSequence,
} from '@amanat/core';
import type { Queryable } from './db.ts';
import { readActivity } from './deals/activity.ts';

/** The signed checkpoints written so far (none when the file does not exist yet). */
export async function readCheckpoints(file: string): Promise<Checkpoint[]> {
  try {
    return parseCheckpointLines(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface DealActivityVerification {
  chain: ChainVerification;
  /** Against the latest checkpoint; null when none has been written yet. */
  checkpoint: { ok: boolean; at: string; reason?: string } | null;
  ok: boolean;
}

/**
 * Whether a deal's activity log is the one that was recorded: its hash chain must hold, the checkpoint
 * file's signatures and links must hold, and the deal must match the latest checkpoint, which catches a
 * history that was rewritten and re-hashed by someone with write access to the database.
 */
export async function verifyDealActivity(opts: {
  db: Queryable;
  dealId: string;
  checkpoints: Checkpoint[];
  verifyKey: KeyObject;
}): Promise<DealActivityVerification> {
  const entries = await readActivity(opts.db, opts.dealId);
  const chain = verifyChain(opts.dealId, entries);
  const latest = opts.checkpoints.at(-1);
  if (!latest) return { chain, checkpoint: null, ok: chain.ok };
  const sequence = verifyCheckpointSequence(opts.checkpoints, opts.verifyKey);
  if (!sequence.ok) {
    return {
      chain,
      checkpoint: { ok: false, at: latest.at, reason: `checkpoint file: ${sequence.reason}` },
      ok: false,
    };
  }
  const check = checkDealAgainstCheckpoint(opts.dealId, entries, latest);
  return {
    chain,
    checkpoint: { ok: check.ok, at: latest.at, ...(check.reason ? { reason: check.reason } : {}) },
    ok: chain.ok && check.ok,
  };
}
