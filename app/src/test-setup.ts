// IndexedDB for the offline store in jsdom (a complete in-memory implementation of the spec).
import 'fake-indexeddb/auto';
