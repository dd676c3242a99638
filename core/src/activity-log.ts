import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, type JsonInput, jsonSchema, toJson } from './canonical-json.ts';
import { DomainError } from './errors.ts';

/** The prevHash of entry 1: there is nothing before it. */
export const GENESIS_HASH = '0'.repeat(64);

export const hashHexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (SHA-256)');

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** ISO-8601 in UTC with milliseconds, exactly as Date#toISOString writes it, so that strings sort as times. */
export const isoInstantSchema = z.string().refine((text) => {
  if (!ISO_INSTANT.test(text)) return false;
  const ms = Date.parse(text);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === text;
}, 'expected an ISO-8601 UTC instant with milliseconds, like 2025-01-31T12:00:00.000Z');

export const actorSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    userId: z.string().min(1),
    role: z.enum(['seller', 'buyer', 'arbitrator', 'operator']),
  }),
  z.object({ kind: z.literal('system'), component: z.string().min(1) }),
]);
export type Actor = z.infer<typeof actorSchema>;

export const activityEntrySchema = z.object({
  dealId: z.string().min(1),
  seq: z.number().int().positive(),
  at: isoInstantSchema,
  actor: actorSchema,
  action: z.string().min(1),
  stateBefore: z.string().min(1).nullable(),
  stateAfter: z.string().min(1).nullable(),
  facts: z.record(z.string(), jsonSchema),
  prevHash: hashHexSchema,
  hash: hashHexSchema,
});
export type ActivityEntry = z.infer<typeof activityEntrySchema>;

export type ChainHead = { seq: number; hash: string };

/**
 * The hash covers exactly the entry's fields, picked by name, so that extra properties a caller carries
 * along (a row id, say) neither break nor escape verification.
 */
export const hashEntry = (entry: Omit<ActivityEntry, 'hash'>): string =>
  createHash('sha256')
    .update(
      canonicalJson({
        dealId: entry.dealId,
        seq: entry.seq,
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        stateBefore: entry.stateBefore,
        stateAfter: entry.stateAfter,
        facts: entry.facts,
        prevHash: entry.prevHash,
      }),
    )
    .digest('hex');

export type AppendInput = {
  dealId: string;
  at: string;
  actor: Actor;
  action: string;
  stateBefore: string | null;
  stateAfter: string | null;
  /** Amounts may be bigints; they are stored as decimal strings. */
  facts: { readonly [key: string]: JsonInput | undefined };
};

const appendInputSchema = activityEntrySchema.pick({
  dealId: true,
  at: true,
  actor: true,
  action: true,
  stateBefore: true,
  stateAfter: true,
});

const headSchema = z.object({ seq: z.number().int().positive(), hash: hashHexSchema });

/** The next entry after `head` (null for a deal with no entries yet), hashed and ready to store. */
export const appendEntry = (head: ChainHead | null, input: AppendInput): ActivityEntry => {
  const parsedHead = head === null ? null : headSchema.safeParse(head);
  if (parsedHead && !parsedHead.success) {
    throw new DomainError(
      'activity_head_invalid',
      `The chain head to append after is invalid: ${z.prettifyError(parsedHead.error)}. Pass the stored last entry's seq and hash, or null for the first entry.`,
    );
  }
  const parsed = appendInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new DomainError(
      'activity_entry_invalid',
      `The activity entry is invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  const facts = toJson(input.facts, 'facts');
  if (facts === null || typeof facts !== 'object' || Array.isArray(facts)) {
    throw new DomainError(
      'activity_entry_invalid',
      'facts must be a plain object of named values, like { txHash, amount }.',
    );
  }
  const { dealId, at, actor, action, stateBefore, stateAfter } = parsed.data;
  const body = {
    dealId,
    seq: parsedHead ? parsedHead.data.seq + 1 : 1,
    at,
    actor,
    action,
    stateBefore,
    stateAfter,
    facts,
    prevHash: parsedHead ? parsedHead.data.hash : GENESIS_HASH,
  };
  return { ...body, hash: hashEntry(body) };
};

export type ChainProblemKind = 'edited' | 'removed' | 'inserted' | 'reordered' | 'foreign';
export type ChainProblem = { seq: number; kind: ChainProblemKind; detail: string };

/**
 * `head` is the highest-seq entry of the deal as stored; when ok is false it is reported, not vouched for.
 * `count` is the number of entries of this deal (foreign ones excluded).
 */
export type ChainVerification =
  | { ok: true; head: ChainHead | null; count: number }
  | { ok: false; head: ChainHead | null; count: number; problems: ChainProblem[] };

type Checked = { entry: ActivityEntry; position: number; hashOk: boolean };

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

const isWellFormed = (entry: ActivityEntry): boolean =>
  Number.isSafeInteger(entry.seq) &&
  entry.seq >= 1 &&
  typeof entry.hash === 'string' &&
  typeof entry.prevHash === 'string';

const contentMatchesHash = (entry: ActivityEntry): boolean => {
  try {
    return hashEntry(entry) === entry.hash;
  } catch {
    return false;
  }
};

/** Positions (into `seqs`) of a longest non-decreasing subsequence: everything else was moved. */
const longestOrderedRun = (seqs: readonly number[]): Set<number> => {
  const tails: number[] = [];
  const previous: number[] = new Array(seqs.length).fill(-1);
  for (let i = 0; i < seqs.length; i += 1) {
    const seq = seqs[i] as number;
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((seqs[tails[mid] as number] as number) <= seq) low = mid + 1;
      else high = mid;
    }
    if (low > 0) previous[i] = tails[low - 1] as number;
    tails[low] = i;
  }
  const kept = new Set<number>();
  for (let i = tails.at(-1) ?? -1; i !== -1; i = previous[i] as number) kept.add(i);
  return kept;
};

// Of several entries claiming one seq, the real one is most likely the one the chain runs through.
const pickLinked = (
  group: readonly Checked[],
  prev: ChainHead,
  next: readonly Checked[] | undefined,
): Checked => {
  let best = group[0] as Checked;
  let bestScore = -1;
  for (const candidate of group) {
    const score =
      (candidate.hashOk ? 1 : 0) +
      (candidate.entry.prevHash === prev.hash ? 1 : 0) +
      (next?.some((n) => n.entry.prevHash === candidate.entry.hash) ? 2 : 0);
    if (score > bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
};

/**
 * Checks a deal's entries, given in stored order. Any edit, removal, insertion or reordering is reported;
 * a truncated tail is not visible here (the remaining chain is valid) and is caught by checkpoints.
 */
export const verifyChain = (dealId: string, entries: readonly ActivityEntry[]): ChainVerification => {
  const problems: ChainProblem[] = [];
  const own: Checked[] = [];
  let count = 0;

  entries.forEach((entry, position) => {
    const where = `entry at position ${position + 1}`;
    if (entry.dealId !== dealId) {
      problems.push({
        seq: typeof entry.seq === 'number' ? entry.seq : 0,
        kind: 'foreign',
        detail: `${where} belongs to deal ${JSON.stringify(entry.dealId)}, not ${JSON.stringify(dealId)}`,
      });
      return;
    }
    count += 1;
    if (!isWellFormed(entry)) {
      problems.push({
        seq: typeof entry.seq === 'number' ? entry.seq : 0,
        kind: 'edited',
        detail: `${where} is malformed: seq must be a positive integer and hash/prevHash strings`,
      });
      return;
    }
    const hashOk = contentMatchesHash(entry);
    if (!hashOk) {
      problems.push({
        seq: entry.seq,
        kind: 'edited',
        detail: `seq ${entry.seq}: content does not match its hash`,
      });
    }
    own.push({ entry, position, hashOk });
  });

  const inOrder = longestOrderedRun(own.map((c) => c.entry.seq));
  own.forEach((checked, index) => {
    if (!inOrder.has(index)) {
      problems.push({
        seq: checked.entry.seq,
        kind: 'reordered',
        detail: `seq ${checked.entry.seq} is stored out of order (position ${checked.position + 1})`,
      });
    }
  });

  const groups: Checked[][] = [];
  for (const checked of own.toSorted((a, b) => a.entry.seq - b.entry.seq)) {
    const last = groups.at(-1);
    if (last && (last[0] as Checked).entry.seq === checked.entry.seq) last.push(checked);
    else groups.push([checked]);
  }

  const genesis: ChainHead = { seq: 0, hash: GENESIS_HASH };
  const accepted: ChainHead[] = [genesis];
  const acceptedAt = new Map<string, number>([[GENESIS_HASH, 0]]);
  let prev = genesis;
  groups.forEach((group, g) => {
    const chosen = group.length === 1 ? (group[0] as Checked) : pickLinked(group, prev, groups[g + 1]);
    const { seq, prevHash, hash } = chosen.entry;
    for (const other of group) {
      if (other === chosen) continue;
      problems.push({
        seq,
        kind: 'inserted',
        detail: `${group.length} entries claim seq ${seq}; the one with hash ${short(other.entry.hash)} (position ${other.position + 1}) is not part of the chain`,
      });
    }
    if (seq > prev.seq + 1) {
      problems.push({
        seq: prev.seq + 1,
        kind: 'removed',
        detail:
          seq === prev.seq + 2
            ? `entry seq ${prev.seq + 1} is missing`
            : `entries seq ${prev.seq + 1} to ${seq - 1} are missing`,
      });
    } else if (prevHash !== prev.hash) {
      const linkedTo = acceptedAt.get(prevHash);
      if (linkedTo !== undefined && linkedTo < accepted.length - 1) {
        const target = accepted[linkedTo] as ChainHead;
        for (const intruder of accepted.slice(linkedTo + 1)) {
          problems.push({
            seq: intruder.seq,
            kind: 'inserted',
            detail: `seq ${intruder.seq} was slotted in: seq ${seq} links straight to ${target.seq === 0 ? 'the start of the chain' : `seq ${target.seq}`}`,
          });
        }
      } else {
        problems.push({
          seq,
          kind: 'removed',
          detail: `seq ${seq} links to ${short(prevHash)}, which is not ${prev.seq === 0 ? 'the start of the chain' : `seq ${prev.seq} (${short(prev.hash)})`}: an entry before it was removed or replaced`,
        });
      }
    }
    prev = { seq, hash };
    accepted.push(prev);
    if (!acceptedAt.has(hash)) acceptedAt.set(hash, accepted.length - 1);
  });

  const head = prev === genesis ? null : prev;
  if (problems.length === 0) return { ok: true, head, count };
  return { ok: false, head, count, problems: problems.toSorted((a, b) => a.seq - b.seq) };
};
