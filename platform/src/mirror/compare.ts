import type { Pool } from '../db.ts';
import { DEAL_SELECT, type DealRecord, dealFromRow } from '../deals/record.ts';
import {
  baseUnits,
  type LegacyDealDoc,
  type LegacyParty,
  legacyDealFields,
  legacyIdOf,
  toLegacyDeal,
} from './legacy-shape.ts';
import { partyTelegramIds } from './mirror-writer.ts';

/**
 * How each field is compared. `units` are base-unit strings compared as bigints ('0100' and '100.0' are
 * 100, while 101 is not); dates by their time value; addresses without regard to case (EIP-55 case is a
 * checksum, not a different address); review reasons as a set. The `satisfies` clauses make a field
 * added to the legacy shape a type error here until it is compared too.
 */
type Kind = 'exact' | 'units' | 'date' | 'address' | 'set';
interface Spec {
  readonly [field: string]: Kind | Spec;
}

const PARTY = {
  userId: 'exact',
  telegramId: 'units',
  address: 'address',
  acceptedAt: 'date',
} as const satisfies Record<keyof LegacyParty, Kind>;

const DEAL_SPEC = {
  code: 'exact',
  title: 'exact',
  description: 'exact',
  status: 'exact',
  needsReview: 'exact',
  reviewReasons: 'set',
  chainId: 'exact',
  token: 'address',
  price: 'units',
  amountDue: 'units',
  fee: 'units',
  sellerFee: 'units',
  buyerFee: 'units',
  feeBps: 'exact',
  feeMin: 'units',
  feePayer: 'exact',
  underpayTolerance: 'units',
  dustThreshold: 'units',
  confirmedAmount: 'units',
  confirmingAmount: 'units',
  windows: { paymentSec: 'exact', deliverySec: 'exact', inspectionSec: 'exact' },
  deadlines: { payment: 'date', delivery: 'date', inspection: 'date' },
  closedAt: 'date',
  seller: PARTY,
  buyer: PARTY,
  depositAddress: { address: 'address', index: 'units' },
  funding: 'exact',
  hasPayments: 'exact',
  createdAt: 'date',
  updatedAt: 'date',
  version: 'exact',
} as const satisfies {
  [K in Exclude<keyof LegacyDealDoc, '_id'>]: NonNullable<LegacyDealDoc[K]> extends
    | Date
    | string
    | number
    | boolean
    | string[]
    ? Kind
    : { [F in keyof NonNullable<LegacyDealDoc[K]>]: Kind };
};

/** Every compared field by its dotted name, for tests that hold the comparison to the whole shape. */
export const COMPARED_DEAL_FIELDS: string[] = (function names(spec: Spec, prefix: string): string[] {
  return Object.entries(spec).flatMap(([k, v]) =>
    typeof v === 'string' ? [prefix + k] : names(v, `${prefix}${k}.`),
  );
})(DEAL_SPEC, '');

const sameValue = (kind: Kind, a: unknown, b: unknown): boolean => {
  if (a === null || b === null) return a === b;
  switch (kind) {
    case 'units':
      return baseUnits(a as string) === baseUnits(b as string);
    case 'date':
      return (a as Date).getTime() === (b as Date).getTime();
    case 'address':
      return (a as string).toLowerCase() === (b as string).toLowerCase();
    case 'set': {
      const sorted = (v: unknown) => JSON.stringify([...(v as string[])].sort());
      return sorted(a) === sorted(b);
    }
    case 'exact':
      return a === b;
  }
};

export interface FieldDifference {
  id: string;
  field: string;
  pg: string;
  mongo: string;
}

const show = (v: unknown): string =>
  v === undefined
    ? '(missing)'
    : v instanceof Date
      ? v.toISOString()
      : typeof v === 'string'
        ? v
        : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

function diff(
  spec: Spec,
  pg: Record<string, unknown>,
  mongo: Record<string, unknown>,
  prefix: string,
): FieldDifference[] {
  const out: FieldDifference[] = [];
  for (const [key, kind] of Object.entries(spec)) {
    const field = prefix + key;
    const a = pg[key];
    const b = mongo[key];
    if (typeof kind === 'string') {
      if (!sameValue(kind, a, b)) out.push({ id: '', field, pg: show(a), mongo: show(b) });
    } else if (a === null || b === null) {
      if (a !== b) out.push({ id: '', field, pg: show(a), mongo: show(b) });
    } else {
      out.push(...diff(kind, a as Record<string, unknown>, b as Record<string, unknown>, `${field}.`));
    }
  }
  return out;
}

/** The fields in which two valid documents of one deal differ, with both values shown. */
export function diffLegacyDeals(pg: LegacyDealDoc, mongo: LegacyDealDoc): FieldDifference[] {
  return diff(DEAL_SPEC, pg, mongo, '').map((d) => ({ ...d, id: pg._id }));
}

export interface CompareResult {
  pgCount: number;
  mongoCount: number;
  onlyInPg: string[];
  onlyInMongo: string[];
  different: Array<{ id: string; fields: string[] }>;
  /** Up to `sampleLimit` differing values, to show what a difference looks like. */
  samples: FieldDifference[];
}

type MongoEntry = { ok: true; doc: LegacyDealDoc } | { ok: false; issues: FieldDifference[] };

// Field types only: a broken cross-field rule (a price one unit off) shows up as the field that differs.
const toMongoEntry = (raw: unknown): MongoEntry => {
  const parsed = legacyDealFields.safeParse(raw);
  if (parsed.success) return { ok: true, doc: parsed.data };
  const fields = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const field = issue.path.join('.') || '(document)';
    if (!fields.has(field)) fields.set(field, issue.message);
  }
  return {
    ok: false,
    issues: [...fields].map(([field, message]) => ({ id: '', field, pg: '', mongo: `invalid: ${message}` })),
  };
};

/**
 * Compares every deal of both stores field by field. Both inputs are read once, in step: fed in the
 * same id order (as `pgDealsAsLegacy` and a Mongo cursor sorted by _id are), only the ids missing on one
 * side are held in memory; any order still gives the right answer, at the cost of memory.
 */
export async function compareStores(opts: {
  pgDeals: AsyncIterable<LegacyDealDoc> | Iterable<LegacyDealDoc>;
  mongoDeals: AsyncIterable<unknown> | Iterable<unknown>;
  sampleLimit?: number;
}): Promise<CompareResult> {
  const sampleLimit = opts.sampleLimit ?? 20;
  const result: CompareResult = {
    pgCount: 0,
    mongoCount: 0,
    onlyInPg: [],
    onlyInMongo: [],
    different: [],
    samples: [],
  };
  const waitingPg = new Map<string, LegacyDealDoc>();
  const waitingMongo = new Map<string, MongoEntry>();

  const record = (id: string, differences: FieldDifference[]) => {
    if (differences.length === 0) return;
    result.different.push({ id, fields: differences.map((d) => d.field) });
    for (const d of differences) {
      if (result.samples.length < sampleLimit) result.samples.push({ ...d, id });
    }
  };
  const match = (pg: LegacyDealDoc, mongo: MongoEntry) =>
    record(
      pg._id,
      mongo.ok
        ? diffLegacyDeals(pg, mongo.doc)
        : mongo.issues.map((d) => ({ ...d, pg: show(fieldAt(pg, d.field)) })),
    );

  const pgIt = iterate(opts.pgDeals);
  const mongoIt = iterate(opts.mongoDeals);
  let pgNext = await pgIt.next();
  let mongoNext = await mongoIt.next();
  while (!pgNext.done || !mongoNext.done) {
    const pgId = pgNext.done ? null : pgNext.value._id;
    const mongoId = mongoNext.done ? null : legacyIdOf(mongoNext.value);
    // Take the smaller id first, so inputs in the same order meet without either side piling up.
    if (pgId !== null && (mongoId === null || pgId <= mongoId)) {
      const doc = pgNext.value as LegacyDealDoc;
      result.pgCount += 1;
      const partner = waitingMongo.get(pgId);
      if (partner) {
        waitingMongo.delete(pgId);
        match(doc, partner);
      } else {
        waitingPg.set(pgId, doc);
      }
      pgNext = await pgIt.next();
    } else if (mongoId !== null) {
      const entry = toMongoEntry(mongoNext.value);
      result.mongoCount += 1;
      const partner = waitingPg.get(mongoId);
      if (partner) {
        waitingPg.delete(mongoId);
        match(partner, entry);
      } else {
        waitingMongo.set(mongoId, entry);
      }
      mongoNext = await mongoIt.next();
    }
  }
  result.onlyInPg = [...waitingPg.keys()].sort();
  result.onlyInMongo = [...waitingMongo.keys()].sort();
  result.different.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return result;
}

const fieldAt = (doc: LegacyDealDoc, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      doc,
    );

function iterate<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
}

/**
 * Every PostgreSQL deal in the legacy shape, in id order (the order of uuids in PostgreSQL is the order
 * of their lowercase text, which is how MongoDB sorts string _ids), a batch at a time.
 */
export async function* pgDealsAsLegacy(
  pool: Pool,
  opts: { batchSize?: number } = {},
): AsyncGenerator<LegacyDealDoc> {
  const batchSize = opts.batchSize ?? 500;
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: Array<Record<string, unknown>> } = await pool.query(
      `${DEAL_SELECT} WHERE ($1::uuid IS NULL OR d.id > $1::uuid) ORDER BY d.id LIMIT $2`,
      [after, batchSize],
    );
    const deals: DealRecord[] = rows.map(dealFromRow);
    const telegramIds = await partyTelegramIds(pool, deals);
    for (const deal of deals) yield toLegacyDeal(deal, telegramIds);
    const last: DealRecord | undefined = deals.at(-1);
    if (!last || deals.length < batchSize) return;
    after = last.id;
  }
}
