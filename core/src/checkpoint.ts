/**
 * Anyone who can write to the database can recompute every activity chain, so the chains alone prove
 * nothing against them. Periodically the heads of all chains are signed with a key the database never
 * sees and appended to a log kept outside it; a rewritten or shortened chain then no longer matches.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { z } from 'zod';
import { type ActivityEntry, hashHexSchema, isoInstantSchema, verifyChain } from './activity-log.ts';
import { canonicalJson } from './canonical-json.ts';
import { DomainError } from './errors.ts';

// Fixed DER framing of an Ed25519 key (RFC 8410): the 32 key bytes follow these prefixes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const SIGNING_KEY_HELP =
  'Expected an Ed25519 private key: unencrypted PKCS#8 PEM (a BEGIN PRIVATE KEY block), or its 32-byte seed as base64 or 64 hex digits (generateSigningKeyText makes one).';
const VERIFY_KEY_HELP =
  'Expected an Ed25519 public key: SPKI PEM (-----BEGIN PUBLIC KEY-----), or its 32 raw bytes as base64 or 64 hex digits (what publicKeyText prints).';

const decode32 = (text: string): Buffer | null => {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return null;
  const standard = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=$/, '');
  const bytes = Buffer.from(standard, 'base64');
  // Re-encoding must give the text back: refuses base64 whose spare bits would make two texts one key.
  return bytes.length === 32 && bytes.toString('base64') === `${standard}=` ? bytes : null;
};

// Keys often travel through env files, where a PEM's line breaks get written as "\n".
const unescapePem = (text: string): string => text.replace(/\\n/g, '\n');

const isEd25519 = (key: KeyObject, type: 'private' | 'public'): boolean =>
  key.asymmetricKeyType === 'ed25519' && key.type === type;

export const parseSigningKey = (text: string): KeyObject => {
  const trimmed = text.trim();
  let key: KeyObject | null = null;
  try {
    if (/^-{5}BEGIN PRIVATE KEY-{5}/.test(trimmed)) {
      key = createPrivateKey({ key: unescapePem(trimmed), format: 'pem' });
    } else {
      const seed = decode32(trimmed);
      if (seed) {
        key = createPrivateKey({
          key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
          format: 'der',
          type: 'pkcs8',
        });
      }
    }
  } catch {
    key = null;
  }
  // The text is secret: the message never echoes it.
  if (!key || !isEd25519(key, 'private')) {
    throw new DomainError(
      'checkpoint_key_invalid',
      `The checkpoint signing key could not be read. ${SIGNING_KEY_HELP}`,
    );
  }
  return key;
};

/** A fresh signing key as the base64 of its 32-byte seed. */
export const generateSigningKeyText = (): string => randomBytes(32).toString('base64');

const rawPublicKey = (key: KeyObject): Buffer => {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (!isEd25519(publicKey, 'public')) {
    throw new DomainError('checkpoint_key_invalid', `The key is not an Ed25519 key. ${SIGNING_KEY_HELP}`);
  }
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
};

/** The public half as base64 of its 32 raw bytes: short enough for an env var or a printed notice. */
export const publicKeyText = (key: KeyObject): string => rawPublicKey(key).toString('base64');

/** Names the key that signed a checkpoint, so a verifier holding several can tell which one applies. */
export const keyIdOf = (key: KeyObject): string =>
  createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);

export const parseVerifyKey = (text: string): KeyObject => {
  const trimmed = text.trim();
  if (/-{5}BEGIN [A-Z ]*PRIVATE KEY-{5}/.test(trimmed)) {
    throw new DomainError(
      'checkpoint_verify_key_invalid',
      `This is a private key; verifiers must only get the public key (publicKeyText). ${VERIFY_KEY_HELP}`,
    );
  }
  let key: KeyObject | null = null;
  try {
    if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
      key = createPublicKey({ key: unescapePem(trimmed), format: 'pem' });
    } else {
      const raw = decode32(trimmed);
      if (raw)
        key = createPublicKey({
          key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
          format: 'der',
          type: 'spki',
        });
    }
  } catch {
    key = null;
  }
  if (!key || !isEd25519(key, 'public')) {
    throw new DomainError(
      'checkpoint_verify_key_invalid',
      `The checkpoint verify key could not be read. ${VERIFY_KEY_HELP}`,
    );
  }
  return key;
};

export const checkpointHeadSchema = z.strictObject({
  dealId: z.string().min(1),
  seq: z.number().int().positive(),
  hash: hashHexSchema,
});
export type CheckpointHead = z.infer<typeof checkpointHeadSchema>;

export const checkpointSchema = z.strictObject({
  version: z.literal(1),
  at: isoInstantSchema,
  heads: z.array(checkpointHeadSchema),
  previousDigest: hashHexSchema.nullable(),
  digest: hashHexSchema,
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lowercase hex digits'),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected the base64 of a 64-byte Ed25519 signature'),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

const byDealId = (a: CheckpointHead, b: CheckpointHead): number =>
  a.dealId < b.dealId ? -1 : a.dealId > b.dealId ? 1 : 0;

const strictlySorted = (heads: readonly CheckpointHead[]): boolean =>
  heads.every((head, i) => i === 0 || byDealId(heads[i - 1] as CheckpointHead, head) < 0);

const digestOf = (cp: Pick<Checkpoint, 'version' | 'at' | 'heads' | 'previousDigest'>): string =>
  createHash('sha256')
    .update(
      canonicalJson({
        version: cp.version,
        at: cp.at,
        heads: cp.heads.map(({ dealId, seq, hash }) => ({ dealId, seq, hash })),
        previousDigest: cp.previousDigest,
      }),
    )
    .digest('hex');

const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** Heads of a signed checkpoint never move back: a chain is append-only, so anything else is tampering. */
const regressionBetween = (earlier: Checkpoint, later: Pick<Checkpoint, 'heads'>): string | null => {
  const now = new Map(later.heads.map((head) => [head.dealId, head]));
  for (const before of earlier.heads) {
    const after = now.get(before.dealId);
    if (!after) return `deal ${before.dealId} was in the previous checkpoint and is now missing`;
    if (after.seq < before.seq)
      return `deal ${before.dealId} went back from seq ${before.seq} to seq ${after.seq}`;
    if (after.seq === before.seq && !sameText(after.hash, before.hash)) {
      return `deal ${before.dealId} has a different hash at seq ${before.seq} than in the previous checkpoint`;
    }
  }
  return null;
};

export type CheckpointInput = { at: string; heads: readonly CheckpointHead[]; previous: Checkpoint | null };

/**
 * Signs the heads of all deal chains, linked to the previous checkpoint. Refuses to bless a head that
 * went back or changed since `previous`: that means the database was altered and needs investigating.
 */
export const createCheckpoint = (input: CheckpointInput, key: KeyObject): Checkpoint => {
  if (!isEd25519(key, 'private')) {
    throw new DomainError(
      'checkpoint_key_invalid',
      `Checkpoints must be signed with the private key. ${SIGNING_KEY_HELP}`,
    );
  }
  const parsed = z.object({ at: isoInstantSchema, heads: z.array(checkpointHeadSchema) }).safeParse(input);
  if (!parsed.success) {
    throw new DomainError(
      'checkpoint_input_invalid',
      `The checkpoint input is invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  const { at } = parsed.data;
  const heads = parsed.data.heads.toSorted(byDealId);
  const duplicate = heads.find((head, i) => i > 0 && (heads[i - 1] as CheckpointHead).dealId === head.dealId);
  if (duplicate) {
    throw new DomainError(
      'checkpoint_input_invalid',
      `Deal ${duplicate.dealId} appears twice in the checkpoint heads; pass one head (the last entry) per deal.`,
    );
  }
  const { previous } = input;
  if (previous) {
    if (at < previous.at) {
      throw new DomainError(
        'checkpoint_out_of_order',
        `The checkpoint time ${at} is before the previous checkpoint's ${previous.at}; check the clock.`,
      );
    }
    const regression = regressionBetween(previous, { heads });
    if (regression) {
      throw new DomainError(
        'checkpoint_regression',
        `Refusing to sign: ${regression}. The activity log was altered since the last checkpoint; investigate before signing again.`,
        { previousDigest: previous.digest },
      );
    }
  }
  const body = { version: 1 as const, at, heads, previousDigest: previous ? previous.digest : null };
  const digest = digestOf(body);
  const signature = sign(null, Buffer.from(digest, 'hex'), key).toString('base64');
  return { ...body, digest, keyId: keyIdOf(key), signature };
};

/** True only if the digest recomputes from the content and `verifyKey` signed it. Never throws. */
export const verifyCheckpoint = (cp: Checkpoint, verifyKey: KeyObject): boolean => {
  try {
    const parsed = checkpointSchema.safeParse(cp);
    if (!parsed.success || !strictlySorted(parsed.data.heads)) return false;
    const digest = digestOf(parsed.data);
    if (!sameText(digest, parsed.data.digest)) return false;
    if (parsed.data.keyId !== keyIdOf(verifyKey)) return false;
    const signature = Buffer.from(parsed.data.signature, 'base64');
    if (signature.toString('base64') !== parsed.data.signature) return false;
    return verify(null, Buffer.from(digest, 'hex'), verifyKey, signature);
  } catch {
    return false;
  }
};

/** One line, newline included, for appending to the checkpoint log. */
export const checkpointToLine = (cp: Checkpoint): string => {
  const parsed = checkpointSchema.safeParse(cp);
  // A line the reader would refuse would make the whole file unreadable later.
  if (!parsed.success) {
    throw new DomainError(
      'checkpoint_invalid',
      `Refusing to write a malformed checkpoint: ${z.prettifyError(parsed.error)}`,
    );
  }
  return `${canonicalJson(parsed.data)}\n`;
};

export const parseCheckpointLines = (text: string): Checkpoint[] => {
  const checkpoints: Checkpoint[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const corrupt = (why: string): DomainError =>
      new DomainError(
        'checkpoint_file_corrupt',
        `Checkpoint file line ${index + 1} is not a valid checkpoint (${why}). Restore it from a copy of the file; deleting it breaks the link to the next checkpoint.`,
        { line: index + 1 },
      );
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw corrupt('not JSON');
    }
    const parsed = checkpointSchema.safeParse(value);
    if (!parsed.success) throw corrupt(z.prettifyError(parsed.error).replace(/\n/g, '; '));
    checkpoints.push(parsed.data);
  });
  return checkpoints;
};

export type CheckpointSequenceVerification =
  | { ok: true; count: number }
  | { ok: false; index: number; reason: string };

/**
 * The whole log from its first checkpoint: every one signed by `verifyKey`, each linked to the one before
 * by digest, times not going back, and no deal head moving back or changing between neighbours.
 */
export const verifyCheckpointSequence = (
  cps: readonly Checkpoint[],
  verifyKey: KeyObject,
): CheckpointSequenceVerification => {
  for (let index = 0; index < cps.length; index += 1) {
    const cp = cps[index] as Checkpoint;
    const fail = (reason: string): CheckpointSequenceVerification => ({ ok: false, index, reason });
    if (!verifyCheckpoint(cp, verifyKey)) return fail('digest or signature does not verify with this key');
    const previous = cps[index - 1];
    if (!previous) {
      if (cp.previousDigest !== null)
        return fail('the first checkpoint links to an earlier one that is missing');
      continue;
    }
    if (cp.previousDigest === null || !sameText(cp.previousDigest, previous.digest)) {
      return fail('does not link to the checkpoint before it (one was removed, inserted or reordered)');
    }
    if (cp.at < previous.at)
      return fail(`its time ${cp.at} is before the previous checkpoint's ${previous.at}`);
    const regression = regressionBetween(previous, cp);
    if (regression) return fail(regression);
  }
  return { ok: true, count: cps.length };
};

const findHead = (heads: readonly CheckpointHead[], dealId: string): CheckpointHead | undefined => {
  let low = 0;
  let high = heads.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    const head = heads[mid] as CheckpointHead;
    if (head.dealId === dealId) return head;
    if (head.dealId < dealId) low = mid + 1;
    else high = mid;
  }
  return undefined;
};

/**
 * Whether a deal's stored chain is the one the checkpoint saw. `cp` must already have passed
 * verifyCheckpoint (its heads are then sorted, which the lookup relies on).
 */
/**
 * Entries are stamped when their change was prepared, not when it committed, and hosts' clocks differ:
 * a deal whose first entry is this close before a checkpoint may legitimately have committed after it.
 */
export const CHECKPOINT_GRACE_MS = 5 * 60_000;

export const checkDealAgainstCheckpoint = (
  dealId: string,
  entries: readonly ActivityEntry[],
  cp: Checkpoint,
  graceMs = CHECKPOINT_GRACE_MS,
): { ok: boolean; reason?: string } => {
  const chain = verifyChain(dealId, entries);
  if (!chain.ok) {
    const found = chain.problems.map((p) => `${p.kind} at seq ${p.seq}`).join(', ');
    return { ok: false, reason: `chain does not verify: ${found}` };
  }
  const head = findHead(cp.heads, dealId);
  if (!head) {
    const checkpointTime = Date.parse(cp.at) - graceMs;
    const seenBefore = entries.some((entry) => {
      const time = Date.parse(entry.at);
      return Number.isNaN(time) || Number.isNaN(checkpointTime) || time <= checkpointTime;
    });
    return seenBefore ? { ok: false, reason: 'deal missing from checkpoint' } : { ok: true };
  }
  // The chain verified, so the entry at the checkpointed seq pins every entry before it too.
  const entry = entries.find((e) => e.seq === head.seq);
  if (!entry) {
    return {
      ok: false,
      reason: `the checkpoint records seq ${head.seq} but the chain ends at seq ${chain.head?.seq ?? 0}: entries were removed`,
    };
  }
  if (!sameText(entry.hash, head.hash)) {
    return {
      ok: false,
      reason: `entry seq ${head.seq} has a different hash than the checkpoint recorded: the chain was rewritten`,
    };
  }
  return { ok: true };
};
