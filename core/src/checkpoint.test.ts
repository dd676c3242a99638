import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActivityEntry,
  type AppendInput,
  appendEntry,
  GENESIS_HASH,
  hashEntry,
  verifyChain,
} from './activity-log.ts';
import { canonicalJson } from './canonical-json.ts';
import {
  type Checkpoint,
  type CheckpointHead,
  checkDealAgainstCheckpoint,
  checkpointToLine,
  createCheckpoint,
  generateSigningKeyText,
  keyIdOf,
  parseCheckpointLines,
  parseSigningKey,
  parseVerifyKey,
  publicKeyText,
  verifyCheckpoint,
  verifyCheckpointSequence,
} from './checkpoint.ts';
import { rejection } from './testing.ts';

// RFC 8032 test vector 1: a fixed seed and its public key, so parsing is checked against known values.
const SEED_HEX = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUBLIC_HEX = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

const key = parseSigningKey(SEED_HEX);
const verifyKey = parseVerifyKey(publicKeyText(key));
const otherKey = parseSigningKey(generateSigningKeyText());

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

const chainFor = (dealId: string, length: number, startMs = 0): ActivityEntry[] => {
  const entries: ActivityEntry[] = [];
  for (let i = 0; i < length; i += 1) {
    const last = entries.at(-1);
    const next: AppendInput = {
      dealId,
      at: iso(startMs + i * 1000),
      actor: { kind: 'system', component: 'workers/payments' },
      action: `step_${i}`,
      stateBefore: null,
      stateAfter: `state_${i}`,
      facts: { amount: BigInt(i + 1) * 10n ** 6n },
    };
    entries.push(appendEntry(last ? { seq: last.seq, hash: last.hash } : null, next));
  }
  return entries;
};

const headOf = (dealId: string, entries: readonly ActivityEntry[]): CheckpointHead => {
  const last = entries.at(-1) as ActivityEntry;
  return { dealId, seq: last.seq, hash: last.hash };
};

const rehashFrom = (entries: readonly ActivityEntry[], from: number): ActivityEntry[] => {
  const out = entries.slice(0, from);
  for (const entry of entries.slice(from)) {
    const body = { ...entry, prevHash: out.at(-1)?.hash ?? GENESIS_HASH };
    out.push({ ...body, hash: hashEntry(body) });
  }
  return out;
};

describe('signing and verify keys', () => {
  it('reads the seed as hex, base64 and base64url, and a PKCS#8 PEM, as the same key', () => {
    const seed = Buffer.from(SEED_HEX, 'hex');
    const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const text of [
      SEED_HEX.toUpperCase(),
      seed.toString('base64'),
      seed.toString('base64url'),
      ` ${pem}\n`,
      pem.replace(/\n/g, '\\n'),
    ]) {
      expect(publicKeyText(parseSigningKey(text))).toBe(Buffer.from(PUBLIC_HEX, 'hex').toString('base64'));
    }
  });

  it.each([
    ['an empty text', ''],
    ['a 31-byte seed', Buffer.alloc(31, 1).toString('base64')],
    ['a 33-byte seed', 'ab'.repeat(33)],
    ['garbage', 'not a key'],
    [
      'a public key PEM',
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    ],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    ],
  ])('refuses %s as a signing key without echoing it', (_name, text) => {
    const error = rejection(() => parseSigningKey(text));
    expect(error.code).toBe('checkpoint_key_invalid');
    const middle = text.trim().slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 16);
    if (text.length > 40) expect(error.message).not.toContain(middle);
  });

  it('generates distinct keys that parse', () => {
    const a = generateSigningKeyText();
    const b = generateSigningKeyText();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(parseSigningKey(a).asymmetricKeyType).toBe('ed25519');
  });

  it('writes the public key as base64 of 32 bytes and reads it back, also as SPKI PEM or hex', () => {
    const text = publicKeyText(key);
    expect(Buffer.from(text, 'base64').toString('hex')).toBe(PUBLIC_HEX);
    const pem = verifyKey.export({ format: 'pem', type: 'spki' }).toString();
    for (const form of [text, PUBLIC_HEX, pem]) expect(keyIdOf(parseVerifyKey(form))).toBe(keyIdOf(key));
    expect(keyIdOf(key)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a private key where a verify key belongs, and garbage', () => {
    const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(rejection(() => parseVerifyKey(pem)).code).toBe('checkpoint_verify_key_invalid');
    expect(rejection(() => parseVerifyKey('nope')).code).toBe('checkpoint_verify_key_invalid');
  });
});

describe('createCheckpoint and verifyCheckpoint', () => {
  const heads: CheckpointHead[] = [
    { dealId: 'deal-b', seq: 2, hash: 'b'.repeat(64) },
    { dealId: 'deal-a', seq: 5, hash: 'a'.repeat(64) },
  ];

  it('signs the heads sorted by deal id, with a digest, key id and signature that verify', () => {
    const cp = createCheckpoint({ at: iso(0), heads, previous: null }, key);
    expect(cp.version).toBe(1);
    expect(cp.heads.map((h) => h.dealId)).toEqual(['deal-a', 'deal-b']);
    expect(cp.previousDigest).toBeNull();
    expect(cp.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(cp.keyId).toBe(keyIdOf(key));
    expect(Buffer.from(cp.signature, 'base64')).toHaveLength(64);
    expect(verifyCheckpoint(cp, verifyKey)).toBe(true);
  });

  it('links to the previous checkpoint by its digest', () => {
    const first = createCheckpoint({ at: iso(0), heads, previous: null }, key);
    const second = createCheckpoint({ at: iso(1000), heads, previous: first }, key);
    expect(second.previousDigest).toBe(first.digest);
    expect(second.digest).not.toBe(first.digest);
  });

  it.each<[string, (cp: Checkpoint) => Checkpoint]>([
    [
      'an edited head hash',
      (cp) => ({ ...cp, heads: cp.heads.map((h, i) => (i === 0 ? { ...h, hash: 'c'.repeat(64) } : h)) }),
    ],
    [
      'an edited head seq',
      (cp) => ({ ...cp, heads: cp.heads.map((h, i) => (i === 0 ? { ...h, seq: h.seq - 1 } : h)) }),
    ],
    ['a removed head', (cp) => ({ ...cp, heads: cp.heads.slice(1) })],
    [
      'an added head',
      (cp) => ({ ...cp, heads: [...cp.heads, { dealId: 'deal-z', seq: 1, hash: 'd'.repeat(64) }] }),
    ],
    ['an edited time', (cp) => ({ ...cp, at: iso(5) })],
    ['an edited previous digest', (cp) => ({ ...cp, previousDigest: 'e'.repeat(64) })],
    ['an edited digest', (cp) => ({ ...cp, digest: 'f'.repeat(64) })],
    ['an edited key id', (cp) => ({ ...cp, keyId: '0'.repeat(16) })],
    [
      'a signature from another key',
      (cp) => ({ ...cp, signature: sign(null, Buffer.from(cp.digest, 'hex'), otherKey).toString('base64') }),
    ],
    ['a garbled signature', (cp) => ({ ...cp, signature: `${'A'.repeat(86)}==` })],
    ['an unknown field', (cp) => ({ ...cp, note: 'x' }) as Checkpoint],
  ])('rejects a checkpoint with %s', (_name, tamper) => {
    const cp = createCheckpoint({ at: iso(0), heads, previous: null }, key);
    expect(verifyCheckpoint(tamper(cp), verifyKey)).toBe(false);
  });

  it('rejects forged heads even when the forger recomputed the digest', () => {
    const cp = createCheckpoint({ at: iso(0), heads, previous: null }, key);
    const forgedHeads = cp.heads.map((h) => ({ ...h, seq: h.seq + 1 }));
    const reDigested = createCheckpoint({ at: cp.at, heads: forgedHeads, previous: null }, otherKey);
    expect(verifyCheckpoint({ ...reDigested, keyId: cp.keyId, signature: cp.signature }, verifyKey)).toBe(
      false,
    );
  });

  it('rejects a checkpoint signed by another key', () => {
    const cp = createCheckpoint({ at: iso(0), heads, previous: null }, otherKey);
    expect(verifyCheckpoint(cp, verifyKey)).toBe(false);
    expect(verifyCheckpoint(cp, parseVerifyKey(publicKeyText(otherKey)))).toBe(true);
  });

  it('refuses duplicate deals, bad heads and a public key for signing', () => {
    const dup = [...heads, { dealId: 'deal-a', seq: 6, hash: 'a'.repeat(64) }];
    expect(rejection(() => createCheckpoint({ at: iso(0), heads: dup, previous: null }, key)).code).toBe(
      'checkpoint_input_invalid',
    );
    const bad = [{ dealId: 'deal-a', seq: 0, hash: 'x' }];
    expect(rejection(() => createCheckpoint({ at: iso(0), heads: bad, previous: null }, key)).code).toBe(
      'checkpoint_input_invalid',
    );
    expect(rejection(() => createCheckpoint({ at: 'yesterday', heads, previous: null }, key)).code).toBe(
      'checkpoint_input_invalid',
    );
    expect(rejection(() => createCheckpoint({ at: iso(0), heads, previous: null }, verifyKey)).code).toBe(
      'checkpoint_key_invalid',
    );
  });

  it('refuses to sign heads that went back, vanished or changed since the previous checkpoint', () => {
    const first = createCheckpoint({ at: iso(0), heads, previous: null }, key);
    const cases: CheckpointHead[][] = [
      [heads[0] as CheckpointHead, { dealId: 'deal-a', seq: 4, hash: 'a'.repeat(64) }],
      [heads[0] as CheckpointHead],
      [heads[0] as CheckpointHead, { dealId: 'deal-a', seq: 5, hash: '9'.repeat(64) }],
    ];
    for (const next of cases) {
      expect(
        rejection(() => createCheckpoint({ at: iso(1000), heads: next, previous: first }, key)).code,
      ).toBe('checkpoint_regression');
    }
    const grown = [heads[0] as CheckpointHead, { dealId: 'deal-a', seq: 9, hash: '9'.repeat(64) }];
    expect(createCheckpoint({ at: iso(1000), heads: grown, previous: first }, key).heads).toHaveLength(2);
  });

  it('refuses a checkpoint dated before the previous one', () => {
    const first = createCheckpoint({ at: iso(1000), heads, previous: null }, key);
    expect(rejection(() => createCheckpoint({ at: iso(0), heads, previous: first }, key)).code).toBe(
      'checkpoint_out_of_order',
    );
  });
});

describe('checkpoint lines', () => {
  const series = (): Checkpoint[] => {
    const out: Checkpoint[] = [];
    for (let i = 0; i < 4; i += 1) {
      out.push(
        createCheckpoint(
          {
            at: iso(i * 60_000),
            heads: [{ dealId: 'deal-a', seq: i + 1, hash: String(i).repeat(64) }],
            previous: out.at(-1) ?? null,
          },
          key,
        ),
      );
    }
    return out;
  };

  it('writes one line per checkpoint and reads them back, skipping blank lines and CRLF', () => {
    const cps = series();
    const lines = cps.map(checkpointToLine);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
    }
    const text = `\n${lines[0]}\n${lines.slice(1).join('').replace(/\n/g, '\r\n')}\n\n`;
    expect(parseCheckpointLines(text)).toEqual(cps);
    expect(parseCheckpointLines('')).toEqual([]);
  });

  it('names the line that is corrupt', () => {
    const [a, b] = series().map(checkpointToLine);
    for (const bad of ['{"version":1', JSON.stringify({ version: 2 })]) {
      const error = rejection(() => parseCheckpointLines(`${a}\n${bad}\n${b}`));
      expect(error.code).toBe('checkpoint_file_corrupt');
      expect(error.details).toEqual({ line: 3 });
      expect(error.message).toContain('line 3');
    }
  });

  it('refuses to write a malformed checkpoint', () => {
    const [cp] = series();
    expect(rejection(() => checkpointToLine({ ...(cp as Checkpoint), digest: 'nope' })).code).toBe(
      'checkpoint_invalid',
    );
  });

  it('verifies a linked sequence and pinpoints a removed, reordered, foreign-signed or headless one', () => {
    const cps = series();
    expect(verifyCheckpointSequence(cps, verifyKey)).toEqual({ ok: true, count: 4 });
    expect(verifyCheckpointSequence([], verifyKey)).toEqual({ ok: true, count: 0 });

    expect(verifyCheckpointSequence(cps.toSpliced(1, 1), verifyKey)).toMatchObject({ ok: false, index: 1 });
    expect(
      verifyCheckpointSequence([cps[0], cps[2], cps[1], cps[3]] as Checkpoint[], verifyKey),
    ).toMatchObject({
      ok: false,
      index: 1,
    });
    expect(verifyCheckpointSequence(cps.slice(1), verifyKey)).toMatchObject({ ok: false, index: 0 });

    const intruder = createCheckpoint(
      { at: iso(999_999), heads: (cps[3] as Checkpoint).heads, previous: cps[3] as Checkpoint },
      otherKey,
    );
    expect(verifyCheckpointSequence([...cps, intruder], verifyKey)).toMatchObject({ ok: false, index: 4 });
  });

  it('rejects a properly signed sequence whose heads go back (a key holder cannot quietly shorten a chain)', () => {
    const cps = series();
    const first = cps[0] as Checkpoint;
    // Built by hand, as createCheckpoint refuses regressions: a valid signature alone must not make it pass.
    const body = { version: 1 as const, at: iso(120_000), heads: [], previousDigest: first.digest };
    const digest = createHash('sha256').update(canonicalJson(body)).digest('hex');
    const signature = sign(null, Buffer.from(digest, 'hex'), key).toString('base64');
    const relinked: Checkpoint = { ...body, digest, keyId: keyIdOf(key), signature };
    expect(verifyCheckpoint(relinked, verifyKey)).toBe(true);
    expect(verifyCheckpointSequence([first, relinked], verifyKey)).toMatchObject({ ok: false, index: 1 });
  });
});

describe('checkDealAgainstCheckpoint', () => {
  const setup = () => {
    const a = chainFor('deal-a', 4);
    const b = chainFor('deal-b', 2);
    const cp = createCheckpoint(
      { at: iso(10_000), heads: [headOf('deal-a', a), headOf('deal-b', b)], previous: null },
      key,
    );
    return { a, b, cp };
  };

  it('accepts the chain the checkpoint saw, and later appends to it', () => {
    const { a, cp } = setup();
    expect(checkDealAgainstCheckpoint('deal-a', a, cp)).toEqual({ ok: true });
    const last = a.at(-1) as ActivityEntry;
    const more = appendEntry(
      { seq: last.seq, hash: last.hash },
      {
        dealId: 'deal-a',
        at: iso(20_000),
        actor: { kind: 'system', component: 'x' },
        action: 'later',
        stateBefore: null,
        stateAfter: null,
        facts: {},
      },
    );
    expect(checkDealAgainstCheckpoint('deal-a', [...a, more], cp)).toEqual({ ok: true });
  });

  it('catches a chain that was rewritten and fully re-hashed, which verifyChain alone cannot', () => {
    const { a, cp } = setup();
    const edited = a.with(1, { ...(a[1] as ActivityEntry), facts: { amount: '1' } });
    const rewritten = rehashFrom(edited, 1);
    expect(verifyChain('deal-a', rewritten).ok).toBe(true);
    const result = checkDealAgainstCheckpoint('deal-a', rewritten, cp);
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('rewritten');
  });

  it('catches a truncated chain', () => {
    const { a, cp } = setup();
    expect(verifyChain('deal-a', a.slice(0, 2)).ok).toBe(true);
    const result = checkDealAgainstCheckpoint('deal-a', a.slice(0, 2), cp);
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('removed');
    expect(checkDealAgainstCheckpoint('deal-a', [], cp).ok).toBe(false);
  });

  it('fails when the chain itself does not verify', () => {
    const { a, cp } = setup();
    const result = checkDealAgainstCheckpoint('deal-a', a.toSpliced(1, 1), cp);
    expect(result).toEqual({ ok: false, reason: 'chain does not verify: removed at seq 2' });
  });

  it('accepts a deal absent from the checkpoint only if it started after it, less a clock-skew grace', () => {
    const { cp } = setup();
    expect(checkDealAgainstCheckpoint('deal-c', chainFor('deal-c', 2, 10_001), cp)).toEqual({ ok: true });
    expect(checkDealAgainstCheckpoint('deal-c', [], cp)).toEqual({ ok: true });
    // Stamped a moment before the checkpoint but committed after it (another host's clock): fine.
    expect(checkDealAgainstCheckpoint('deal-c', chainFor('deal-c', 2, 9_000), cp, 5_000)).toEqual({
      ok: true,
    });
    expect(checkDealAgainstCheckpoint('deal-c', chainFor('deal-c', 2, 5_000), cp, 5_000)).toEqual({
      ok: false,
      reason: 'deal missing from checkpoint',
    });
    expect(checkDealAgainstCheckpoint('deal-c', chainFor('deal-c', 2, 10_000), cp, 0)).toEqual({
      ok: false,
      reason: 'deal missing from checkpoint',
    });
  });

  it('catches any rewrite at or before the checkpointed head, whatever was re-hashed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        fc.nat(),
        fc.string({ minLength: 1 }),
        (length, extra, at, action) => {
          const chain = chainFor('deal-x', length + (extra % 3));
          const head = chain[length - 1] as ActivityEntry;
          const cp = createCheckpoint(
            {
              at: iso(length * 1000),
              heads: [{ dealId: 'deal-x', seq: head.seq, hash: head.hash }],
              previous: null,
            },
            key,
          );
          const position = at % length;
          fc.pre((chain[position] as ActivityEntry).action !== action);
          const rewritten = rehashFrom(
            chain.with(position, { ...(chain[position] as ActivityEntry), action }),
            position,
          );
          expect(verifyChain('deal-x', rewritten).ok).toBe(true);
          expect(checkDealAgainstCheckpoint('deal-x', rewritten, cp).ok).toBe(false);
        },
      ),
    );
  });
});
