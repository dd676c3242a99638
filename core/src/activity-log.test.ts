import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActivityEntry,
  type Actor,
  type AppendInput,
  activityEntrySchema,
  appendEntry,
  type ChainVerification,
  GENESIS_HASH,
  hashEntry,
  verifyChain,
} from './activity-log.ts';
import { canonicalJson } from './canonical-json.ts';
import { rejection } from './testing.ts';

const DEAL = 'deal-1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

const seller: Actor = { kind: 'user', userId: 'u-seller', role: 'seller' };
const system: Actor = { kind: 'system', component: 'workers/payments' };

const input = (i: number, overrides: Partial<AppendInput> = {}): AppendInput => ({
  dealId: DEAL,
  at: iso(i * 1000),
  actor: i % 2 === 0 ? seller : system,
  action: `step_${i}`,
  stateBefore: i === 0 ? null : `state_${i - 1}`,
  stateAfter: `state_${i}`,
  facts: { i, amount: BigInt(i) * 1_000_000n },
  ...overrides,
});

const buildChain = (inputs: readonly AppendInput[]): ActivityEntry[] => {
  const entries: ActivityEntry[] = [];
  for (const next of inputs) {
    const last = entries.at(-1);
    entries.push(appendEntry(last ? { seq: last.seq, hash: last.hash } : null, next));
  }
  return entries;
};

const chainOf = (length: number): ActivityEntry[] => buildChain(Array.from({ length }, (_, i) => input(i)));

/** Re-hash entries from `from` on, relinking each to the one before: what a database writer could do. */
const rehashFrom = (entries: ActivityEntry[], from: number): ActivityEntry[] => {
  const out = entries.slice(0, from);
  for (const entry of entries.slice(from)) {
    const prevHash = out.at(-1)?.hash ?? GENESIS_HASH;
    const body = { ...entry, prevHash };
    out.push({ ...body, hash: hashEntry(body) });
  }
  return out;
};

const withHash = (entry: Omit<ActivityEntry, 'hash'>): ActivityEntry => ({
  ...entry,
  hash: hashEntry(entry),
});

const problemsOf = (result: ChainVerification) =>
  result.ok ? [] : result.problems.map(({ seq, kind }) => ({ seq, kind }));

describe('appendEntry', () => {
  it('starts at seq 1 from the genesis hash and links each entry to the one before', () => {
    const [first, second] = chainOf(2) as [ActivityEntry, ActivityEntry];
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.hash).toBe(hashEntry(first));
  });

  it('stores bigint facts as decimal strings, so the stored entry is plain JSON that verifies after a round trip', () => {
    const entry = appendEntry(
      null,
      input(0, { facts: { amount: 12345678901234567890n, nested: { fee: 5n } } }),
    );
    expect(entry.facts).toEqual({ amount: '12345678901234567890', nested: { fee: '5' } });
    const stored: ActivityEntry = JSON.parse(JSON.stringify(entry));
    expect(activityEntrySchema.parse(stored)).toEqual(entry);
    expect(verifyChain(DEAL, [stored]).ok).toBe(true);
  });

  it('hashes every field but the hash and nothing else', () => {
    const entry = appendEntry(null, input(0));
    const { hash, ...body } = entry;
    expect(hashEntry({ ...body, rowId: 42 } as typeof body)).toBe(hash);
    expect(hashEntry({ ...body, action: 'other' })).not.toBe(hash);
  });

  it('drops unknown actor properties instead of storing them', () => {
    const actor = { kind: 'system', component: 'api', extra: 'x' } as unknown as Actor;
    expect(appendEntry(null, input(0, { actor })).actor).toEqual({ kind: 'system', component: 'api' });
  });

  it.each([
    ['a time without milliseconds', { at: '2025-03-01T10:00:00Z' }],
    ['a time not in UTC', { at: '2025-03-01T10:00:00.000+01:00' }],
    ['an impossible date', { at: '2025-02-30T10:00:00.000Z' }],
    ['an empty deal id', { dealId: '' }],
    ['an empty action', { action: '' }],
    ['an unknown role', { actor: { kind: 'user', userId: 'u', role: 'admin' } as unknown as Actor }],
  ])('rejects %s', (_name, overrides) => {
    expect(rejection(() => appendEntry(null, input(0, overrides))).code).toBe('activity_entry_invalid');
  });

  it('rejects facts that JSON cannot carry', () => {
    const error = rejection(() => appendEntry(null, input(0, { facts: { x: Number.NaN } })));
    expect(error.code).toBe('json_unsupported_value');
    expect(error.details).toEqual({ path: 'facts.x' });
  });

  it('rejects a malformed head', () => {
    expect(rejection(() => appendEntry({ seq: 0, hash: GENESIS_HASH }, input(0))).code).toBe(
      'activity_head_invalid',
    );
    expect(rejection(() => appendEntry({ seq: 1, hash: 'abc' }, input(0))).code).toBe(
      'activity_head_invalid',
    );
  });
});

describe('verifyChain', () => {
  it('accepts an empty chain and a valid one, reporting the head and count', () => {
    expect(verifyChain(DEAL, [])).toEqual({ ok: true, head: null, count: 0 });
    const chain = chainOf(4);
    const last = chain[3] as ActivityEntry;
    expect(verifyChain(DEAL, chain)).toEqual({ ok: true, head: { seq: 4, hash: last.hash }, count: 4 });
  });

  it('does not notice a truncated tail (that is what checkpoints are for)', () => {
    expect(verifyChain(DEAL, chainOf(4).slice(0, 2)).ok).toBe(true);
  });

  it('does not notice a rewrite that re-hashed and relinked everything after it (checkpoints do)', () => {
    const chain = chainOf(4);
    const rewritten = rehashFrom(chain.with(1, { ...(chain[1] as ActivityEntry), action: 'refund' }), 1);
    expect(verifyChain(DEAL, rewritten).ok).toBe(true);
    expect(rewritten[3]?.hash).not.toBe(chain[3]?.hash);
  });

  it('reports an edited entry', () => {
    const chain = chainOf(4);
    chain[1] = { ...(chain[1] as ActivityEntry), facts: { amount: '999' } };
    expect(problemsOf(verifyChain(DEAL, chain))).toEqual([{ seq: 2, kind: 'edited' }]);
  });

  it('reports an edited hash field', () => {
    const chain = chainOf(3);
    chain[2] = { ...(chain[2] as ActivityEntry), hash: 'f'.repeat(64) };
    expect(problemsOf(verifyChain(DEAL, chain))).toEqual([{ seq: 3, kind: 'edited' }]);
  });

  it('reports an entry that was rewritten and re-hashed, at the entry that no longer links to it', () => {
    const chain = chainOf(4);
    chain[1] = withHash({ ...(chain[1] as ActivityEntry), action: 'refund' });
    const result = verifyChain(DEAL, chain);
    expect(result.ok).toBe(false);
    expect(problemsOf(result)).toEqual([{ seq: 3, kind: 'removed' }]);
  });

  it('reports a removed entry as a gap', () => {
    const chain = chainOf(4);
    chain.splice(1, 1);
    const result = verifyChain(DEAL, chain);
    expect(problemsOf(result)).toEqual([{ seq: 2, kind: 'removed' }]);
    expect(result.ok ? '' : result.problems[0]?.detail).toBe('entry seq 2 is missing');
  });

  it('reports a removed first entry', () => {
    expect(problemsOf(verifyChain(DEAL, chainOf(3).slice(1)))).toEqual([{ seq: 1, kind: 'removed' }]);
  });

  it('reports a removal hidden by renumbering and re-hashing as an entry linking past a missing one', () => {
    const [first, , third, fourth] = chainOf(4) as ActivityEntry[];
    // Entry 2 is gone; 3 and 4 are renumbered and re-hashed, 4 relinked, but 3 still names the removed 2.
    const second = withHash({ ...(third as ActivityEntry), seq: 2 });
    const last = withHash({ ...(fourth as ActivityEntry), seq: 3, prevHash: second.hash });
    expect(problemsOf(verifyChain(DEAL, [first as ActivityEntry, second, last]))).toEqual([
      { seq: 2, kind: 'removed' },
    ]);
  });

  it('reports an inserted entry with a duplicate seq', () => {
    const chain = chainOf(4);
    const forged = withHash({ ...(chain[2] as ActivityEntry), action: 'release_funds', facts: {} });
    chain.splice(2, 0, forged);
    const result = verifyChain(DEAL, chain);
    expect(problemsOf(result)).toEqual([{ seq: 3, kind: 'inserted' }]);
    expect(result.ok ? '' : result.problems[0]?.detail).toContain(forged.hash.slice(0, 12));
  });

  it('reports an inserted entry when the numbering after it was shifted', () => {
    const [first, second, third, fourth] = chainOf(4) as ActivityEntry[];
    const forged = withHash({ ...(third as ActivityEntry), action: 'release_funds' });
    // The old 3 and 4 become 4 and 5, re-hashed and linked to each other; the old 3 still points at seq 2.
    const shiftedThird = withHash({ ...(third as ActivityEntry), seq: 4 });
    const shiftedFourth = withHash({ ...(fourth as ActivityEntry), seq: 5, prevHash: shiftedThird.hash });
    const tampered = [first, second, forged, shiftedThird, shiftedFourth] as ActivityEntry[];
    expect(problemsOf(verifyChain(DEAL, tampered))).toEqual([{ seq: 3, kind: 'inserted' }]);
  });

  it('reports swapped entries as reordered, once', () => {
    const chain = chainOf(4);
    const swapped = [chain[0], chain[2], chain[1], chain[3]] as ActivityEntry[];
    const problems = problemsOf(verifyChain(DEAL, swapped));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.kind).toBe('reordered');
  });

  it('reports an entry moved to the end as the one that moved', () => {
    const chain = chainOf(4);
    const moved = [...chain.slice(1), chain[0]] as ActivityEntry[];
    expect(problemsOf(verifyChain(DEAL, moved))).toEqual([{ seq: 1, kind: 'reordered' }]);
  });

  it("reports another deal's entry as foreign", () => {
    const chain = chainOf(3);
    const other = appendEntry(null, input(0, { dealId: 'deal-2' }));
    chain.splice(1, 0, other);
    const result = verifyChain(DEAL, chain);
    expect(problemsOf(result)).toEqual([{ seq: 1, kind: 'foreign' }]);
    expect(result.count).toBe(3);
  });

  it('reports an entry with an impossible seq instead of throwing', () => {
    const chain = chainOf(2);
    const broken = { ...(chain[1] as ActivityEntry), seq: 1.5 };
    expect(verifyChain(DEAL, [chain[0] as ActivityEntry, broken]).ok).toBe(false);
  });

  it('reports a first entry that does not start from the genesis hash', () => {
    const first = withHash({ ...(chainOf(1)[0] as ActivityEntry), prevHash: 'a'.repeat(64) });
    expect(problemsOf(verifyChain(DEAL, [first]))).toEqual([{ seq: 1, kind: 'removed' }]);
  });
});

// --- properties -------------------------------------------------------------------------------------

const actorArb: fc.Arbitrary<Actor> = fc.oneof(
  fc.record({
    kind: fc.constant('user' as const),
    userId: fc.string({ minLength: 1, maxLength: 8 }),
    role: fc.constantFrom('seller' as const, 'buyer' as const, 'arbitrator' as const, 'operator' as const),
  }),
  fc.record({ kind: fc.constant('system' as const), component: fc.string({ minLength: 1, maxLength: 8 }) }),
);
const stateArb = fc.option(fc.string({ minLength: 1, maxLength: 6 }), { nil: null });
const factsArb = fc.dictionary(
  fc.string({ maxLength: 6 }),
  fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.bigInt()),
  { maxKeys: 4 },
) as fc.Arbitrary<AppendInput['facts']>;

const inputsArb = (minLength: number) =>
  fc
    .array(
      fc.record({
        gap: fc.nat(86_400_000),
        actor: actorArb,
        action: fc.string({ minLength: 1, maxLength: 8 }),
        stateBefore: stateArb,
        stateAfter: stateArb,
        facts: factsArb,
      }),
      { minLength, maxLength: 8 },
    )
    .map((steps) => {
      let time = T0;
      return steps.map(({ gap, ...rest }): AppendInput => {
        time += gap;
        return { dealId: DEAL, at: new Date(time).toISOString(), ...rest };
      });
    });

const chainArb = (minLength: number) => inputsArb(minLength).map(buildChain);

const fields = [
  'dealId',
  'seq',
  'at',
  'actor',
  'action',
  'stateBefore',
  'stateAfter',
  'facts',
  'prevHash',
  'hash',
] as const;
const hexArb = fc.stringMatching(/^[0-9a-f]{64}$/);
const replacementArb: Record<(typeof fields)[number], fc.Arbitrary<unknown>> = {
  dealId: fc.string({ maxLength: 8 }),
  seq: fc.integer({ min: -2, max: 12 }),
  at: fc.integer({ min: 0, max: 10 * 86_400_000 }).map(iso),
  actor: actorArb,
  action: fc.string({ maxLength: 8 }),
  stateBefore: stateArb,
  stateAfter: stateArb,
  facts: factsArb,
  prevHash: fc.oneof(hexArb, fc.constant(GENESIS_HASH)),
  hash: hexArb,
};

const mutationArb = fc
  .constantFrom(...fields)
  .chain((field) => fc.record({ field: fc.constant(field), value: replacementArb[field], index: fc.nat() }));

describe('verifyChain properties', () => {
  it('accepts every chain built by appendEntry, also after a JSON round trip', () => {
    fc.assert(
      fc.property(chainArb(0), (chain) => {
        const result = verifyChain(DEAL, chain);
        expect(result.ok).toBe(true);
        expect(result.count).toBe(chain.length);
        expect(verifyChain(DEAL, JSON.parse(JSON.stringify(chain))).ok).toBe(true);
      }),
    );
  });

  it('rejects a chain where any single field of any entry was changed', () => {
    fc.assert(
      fc.property(chainArb(1), mutationArb, (chain, { field, value, index }) => {
        const position = index % chain.length;
        const original = chain[position] as ActivityEntry;
        fc.pre(canonicalJson(value) !== canonicalJson(original[field]));
        const tampered = chain.with(position, { ...original, [field]: value } as ActivityEntry);
        expect(verifyChain(DEAL, tampered).ok).toBe(false);
      }),
    );
  });

  it('rejects a chain with any entry but the last removed', () => {
    fc.assert(
      fc.property(chainArb(2), fc.nat(), (chain, index) => {
        const position = index % (chain.length - 1);
        const result = verifyChain(DEAL, chain.toSpliced(position, 1));
        expect(result.ok).toBe(false);
        expect(problemsOf(result)).toContainEqual({ seq: position + 1, kind: 'removed' });
      }),
    );
  });

  it('rejects a chain with two entries swapped', () => {
    fc.assert(
      fc.property(chainArb(2), fc.nat(), fc.nat(), (chain, a, b) => {
        const i = a % chain.length;
        const j = b % chain.length;
        fc.pre(i !== j);
        const swapped = chain.with(i, chain[j] as ActivityEntry).with(j, chain[i] as ActivityEntry);
        const result = verifyChain(DEAL, swapped);
        expect(result.ok).toBe(false);
        expect(problemsOf(result).some((p) => p.kind === 'reordered')).toBe(true);
      }),
    );
  });

  it('rejects a forged entry slotted in anywhere but the end, even with its own hash right', () => {
    fc.assert(
      fc.property(
        chainArb(1),
        inputsArb(1),
        fc.nat(),
        fc.integer({ min: -1, max: 10 }),
        fc.nat(),
        fc.boolean(),
        (chain, [forgedInput], at, seq, link, ownDeal) => {
          const position = at % chain.length;
          const links = [GENESIS_HASH, ...chain.map((e) => e.hash)];
          const template = appendEntry(null, forgedInput as AppendInput);
          const forged = withHash({
            ...template,
            dealId: ownDeal ? DEAL : 'deal-other',
            seq,
            prevHash: links[link % links.length] as string,
          });
          expect(verifyChain(DEAL, chain.toSpliced(position, 0, forged)).ok).toBe(false);
        },
      ),
    );
  });

  it('accepts a correctly formed entry appended at the end: appending is what the log is for', () => {
    fc.assert(
      fc.property(chainArb(1), inputsArb(1), (chain, [next]) => {
        const last = chain.at(-1) as ActivityEntry;
        const appended = appendEntry({ seq: last.seq, hash: last.hash }, next as AppendInput);
        expect(verifyChain(DEAL, [...chain, appended]).ok).toBe(true);
      }),
    );
  });
});
