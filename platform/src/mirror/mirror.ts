import type { Collection, Filter, MongoClient } from 'mongodb';
import { LEGACY_COLLECTIONS, type LegacyDealDoc, type LegacyUserDoc } from './legacy-shape.ts';

export type MirrorWriteResult = 'written' | 'stale';

/** Where committed PostgreSQL changes are copied to while the legacy store is still read by someone. */
export interface LegacyMirror {
  writeDeal(doc: LegacyDealDoc): Promise<MirrorWriteResult>;
  writeUser(doc: LegacyUserDoc): Promise<MirrorWriteResult>;
  close(): Promise<void>;
}

/** The legacy database and its collections, for the mirror, the backfill and the comparison. */
export interface LegacyMongo {
  client: MongoClient;
  deals: Collection<LegacyDealDoc>;
  users: Collection<LegacyUserDoc>;
  close(): Promise<void>;
}

export async function connectLegacyMongo(url: string, dbName: string): Promise<LegacyMongo> {
  // Loaded only when a legacy store is in use: the driver is a large part of a process's memory.
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { appName: 'amanat', serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(dbName);
  return {
    client,
    deals: db.collection<LegacyDealDoc>(LEGACY_COLLECTIONS.deals),
    users: db.collection<LegacyUserDoc>(LEGACY_COLLECTIONS.users),
    close: () => client.close(),
  };
}

const DUPLICATE_KEY = 11000;
// Each round either writes, or finds the document at least as new, or lost an insert race and retries.
const MAX_ROUNDS = 3;

/**
 * Writes a document only over an older version of itself. The filter matches the stored document only
 * when it is older, so an upsert that matches nothing tries to insert the _id
 * and fails with E11000 exactly when a document as new or newer is already there: a mirror job retried
 * late can never overwrite a newer document. An E11000 can also mean two first writes raced; the stored
 * version is then read back, and the write is tried again when it is still older.
 */
async function guardedUpsert<T extends { _id: string; version: number }>(
  collection: Collection<T>,
  doc: T,
): Promise<MirrorWriteResult> {
  const { _id, ...fields } = doc;
  const filter = { _id, version: { $lt: doc.version } } as Filter<T>;
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    try {
      await collection.updateOne(filter, { $set: fields as Partial<T> }, { upsert: true });
      return 'written';
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== DUPLICATE_KEY) throw error;
      const stored = await collection.findOne({ _id } as Filter<T>, { projection: { version: 1 } });
      if (stored && typeof stored.version === 'number' && stored.version >= doc.version) return 'stale';
    }
  }
  throw new Error(`mirror write of ${_id} v${doc.version} kept racing other writers; it will be retried`);
}

export class MongoMirror implements LegacyMirror {
  private readonly mongo: LegacyMongo;

  constructor(mongo: LegacyMongo) {
    this.mongo = mongo;
  }

  static async connect(url: string, dbName: string): Promise<MongoMirror> {
    return new MongoMirror(await connectLegacyMongo(url, dbName));
  }

  writeDeal(doc: LegacyDealDoc): Promise<MirrorWriteResult> {
    return guardedUpsert(this.mongo.deals, doc);
  }

  writeUser(doc: LegacyUserDoc): Promise<MirrorWriteResult> {
    return guardedUpsert(this.mongo.users, doc);
  }

  close(): Promise<void> {
    return this.mongo.close();
  }
}
