import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A chain's scan position kept outside Redis, so that losing Redis means a rescan from here rather
 * than a gap. It only ever needs to be low enough: an older file costs a longer rescan, never a miss.
 */
export interface ScanCheckpoint {
  chainId: number;
  /** The first block to scan again: every payment not yet confirmed is at or above it. */
  resumeFrom: bigint;
  /** The last block the cold scan covered. */
  coldCursor: bigint;
}

const fileSchema = z.object({
  chainId: z.number().int().positive(),
  resumeFrom: z.string().regex(/^\d+$/),
  coldCursor: z.string().regex(/^(-1|\d+)$/),
  writtenAt: z.string(),
});

export const checkpointPath = (dir: string, chainId: number): string => join(dir, `${chainId}.json`);

export async function readCheckpoint(dir: string, chainId: number): Promise<ScanCheckpoint | null> {
  let text: string;
  try {
    text = await readFile(checkpointPath(dir, chainId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  // A file that does not parse stops the scan rather than letting it start at the head and skip blocks.
  const parsed = fileSchema.parse(JSON.parse(text));
  if (parsed.chainId !== chainId) {
    throw new Error(`scan checkpoint ${checkpointPath(dir, chainId)} belongs to chain ${parsed.chainId}`);
  }
  return { chainId, resumeFrom: BigInt(parsed.resumeFrom), coldCursor: BigInt(parsed.coldCursor) };
}

/** Writes the file whole or not at all: a temporary file, flushed to disk, renamed over the old one. */
export async function writeCheckpoint(dir: string, cp: ScanCheckpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = checkpointPath(dir, cp.chainId);
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const body = JSON.stringify({
    chainId: cp.chainId,
    resumeFrom: cp.resumeFrom.toString(),
    coldCursor: cp.coldCursor.toString(),
    writtenAt: new Date().toISOString(),
  });
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(`${body}\n`);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, target);
}
