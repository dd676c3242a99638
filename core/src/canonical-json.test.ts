import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, toJson } from './canonical-json.ts';
import { rejection } from './testing.ts';

const shuffleKeys = (value: unknown, seed: number): unknown => {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, seed));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  const rotated = keys.map((_, i) => keys[(i + seed) % keys.length] as string).reverse();
  return Object.fromEntries(
    rotated.map((key) => [key, shuffleKeys((value as Record<string, unknown>)[key], seed + 1)]),
  );
};

describe('canonicalJson', () => {
  it('sorts keys, keeps array order and writes no whitespace', () => {
    expect(canonicalJson({ b: [3, 1, 2], a: { d: 'x', c: null }, e: true })).toBe(
      '{"a":{"c":null,"d":"x"},"b":[3,1,2],"e":true}',
    );
  });

  it('sorts keys by UTF-16 code unit, not numerically and not by code point', () => {
    // JS objects list integer-like keys first and numerically; the canonical form must not.
    expect(canonicalJson({ 2: 0, 10: 0, b: 0, B: 0 })).toBe('{"10":0,"2":0,"B":0,"b":0}');
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 by code unit.
    expect(canonicalJson({ '\uFB01': 1, '\u{1F600}': 2 })).toBe('{"\u{1F600}":2,"\uFB01":1}');
  });

  it('writes a bigint as the JSON string of its digits, so it hashes like the stored string', () => {
    expect(canonicalJson(5n)).toBe('"5"');
    expect(canonicalJson({ amount: 5n })).toBe(canonicalJson({ amount: '5' }));
    expect(canonicalJson([-123456789012345678901234567890n])).toBe('["-123456789012345678901234567890"]');
  });

  it('omits undefined properties', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('writes -0 as 0, as JSON and jsonb do', () => {
    expect(canonicalJson({ x: -0 })).toBe('{"x":0}');
  });

  it('keeps a "__proto__" key as data', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"a":2}');
    expect(canonicalJson(value)).toBe('{"__proto__":{"x":1},"a":2}');
    expect(Object.getPrototypeOf(toJson(value))).toBe(Object.prototype);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { n: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"n":1},"b":[{"n":1}]}');
  });

  it.each([
    ['NaN', { x: Number.NaN }, '$.x'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '$[1]'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', { s: Symbol('s') }, '$.s'],
    ['a Date', { when: new Date(0) }, '$.when'],
    ['a Map', { m: new Map() }, '$.m'],
    ['a class instance', { u: new Uint8Array(2) }, '$.u'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['undefined at the top', undefined, '$'],
    ['a NUL character', { 'a b': 'x\u0000' }, '$["a b"]'],
    ['an unpaired surrogate', ['\uD800'], '$[0]'],
  ])('refuses %s, naming where it is', (_name, value, path) => {
    const error = rejection(() => canonicalJson(value));
    expect(error.code).toBe('json_unsupported_value');
    expect(error.details).toEqual({ path });
  });

  it('refuses cycles', () => {
    const looped: Record<string, unknown> = { a: 1 };
    looped.self = { again: looped };
    expect(rejection(() => canonicalJson(looped)).details).toEqual({ path: '$.self.again' });
    const list: unknown[] = [];
    list.push(list);
    expect(rejection(() => canonicalJson(list)).code).toBe('json_unsupported_value');
  });

  it('gives the same text whatever the key insertion order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(7), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(canonicalJson(value));
      }),
    );
  });

  it('survives a JSON round trip unchanged and parses back to the same data', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('hashes bigints like the strings jsonb gives back', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.bigInt()), (facts) => {
        const stored = JSON.parse(JSON.stringify(toJson(facts)));
        expect(canonicalJson(stored)).toBe(canonicalJson(facts));
      }),
    );
  });
});

describe('toJson', () => {
  it('turns nested bigints into decimal strings and drops undefined properties', () => {
    expect(toJson({ a: [1n, { b: 2n, c: undefined }], d: 'x' })).toEqual({ a: ['1', { b: '2' }], d: 'x' });
  });

  it('names the root it was given in errors', () => {
    expect(rejection(() => toJson({ at: new Date(0) }, 'facts')).details).toEqual({ path: 'facts.at' });
  });
});
