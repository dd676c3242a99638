import { z } from 'zod';
import { DomainError } from './errors.ts';

/** A value that means the same after JSON.stringify/JSON.parse and after a round trip through jsonb. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * What callers may hand in: Json plus bigints (amounts) and undefined object properties, both of which
 * have one agreed JSON form, so that a value hashes the same before and after it was stored.
 */
export type JsonInput =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonInput[]
  | { readonly [key: string]: JsonInput | undefined };

export const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.string(),
    z.array(jsonSchema),
    z.record(z.string(), jsonSchema),
  ]),
);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const childPath = (path: string, key: string | number): string =>
  typeof key === 'number'
    ? `${path}[${key}]`
    : IDENTIFIER.test(key)
      ? `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;

const reject = (path: string, problem: string): never => {
  throw new DomainError('json_unsupported_value', `${path}: ${problem}`, { path });
};

// PostgreSQL jsonb refuses both; rejecting them here keeps "serializable" and "storable" the same thing.
const checkString = (value: string, path: string): string => {
  if (value.includes('\u0000') || !value.isWellFormed()) {
    reject(path, 'the string contains U+0000 or an unpaired surrogate, which jsonb cannot store; remove it');
  }
  return value;
};

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

const normalize = (value: unknown, path: string, ancestors: Set<object>): Json => {
  switch (typeof value) {
    case 'string':
      return checkString(value, path);
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) reject(path, `${value} is not a finite number; JSON has no such value`);
      return Object.is(value, -0) ? 0 : value;
    case 'bigint':
      // Decimal string, so that the value read back from jsonb (a string) hashes like the bigint did.
      return value.toString();
    case 'undefined':
      return reject(path, 'undefined has no JSON form here; use null or leave the property out');
    case 'function':
      return reject(path, 'a function cannot be serialized; pass data only');
    case 'symbol':
      return reject(path, 'a symbol cannot be serialized; pass a string');
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) {
    return reject(path, 'a Date is not accepted; pass an ISO-8601 string (date.toISOString())');
  }
  if (ancestors.has(object)) return reject(path, 'the value contains itself (a cycle)');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const items: Json[] = [];
      for (let index = 0; index < object.length; index += 1) {
        items.push(normalize(object[index], childPath(path, index), ancestors));
      }
      return items;
    }
    if (!isPlainObject(object)) {
      const kind = object.constructor?.name ?? 'object';
      return reject(path, `a ${kind} is not plain data; pass a plain object or an array`);
    }
    const record = object as Record<string, unknown>;
    const entries: Array<[string, Json]> = [];
    for (const key of Object.keys(record)) {
      const property = record[key];
      if (property === undefined) continue;
      const propertyPath = childPath(path, key);
      checkString(key, propertyPath);
      entries.push([key, normalize(property, propertyPath, ancestors)]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data instead of changing the prototype.
    return Object.fromEntries(entries);
  } finally {
    ancestors.delete(object);
  }
};

/**
 * The plain-JSON form of a value: bigints become decimal strings, undefined properties disappear.
 * Throws DomainError `json_unsupported_value` (details.path) for anything JSON cannot carry faithfully.
 */
export const toJson = (value: unknown, rootName = '$'): Json => normalize(value, rootName, new Set());

// Default sort compares UTF-16 code units, which is the order we promise.
const sortedKeys = (object: { [key: string]: Json }): string[] => Object.keys(object).sort();

const serialize = (value: Json): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  const parts = sortedKeys(value).map((key) => `${JSON.stringify(key)}:${serialize(value[key] as Json)}`);
  return `{${parts.join(',')}}`;
};

/**
 * Deterministic JSON for hashing and signing: keys sorted by code unit, no whitespace, array order kept,
 * bigint as a decimal string, undefined properties omitted. Values that are not plain data (non-finite
 * numbers, functions, symbols, Dates, class instances, cycles) are refused rather than guessed at.
 */
export const canonicalJson = (value: unknown): string => serialize(toJson(value));
