// IndexedDB schema for the field app and the one way to write to it.
//
// The schema grows only through numbered steps in `upgrade` (never edit a shipped step): a phone that
// was offline for weeks may open the app with any older version and must still reach the newest one
// without losing its unsent outbox.
import { openDB } from '../vendor/idb-8.0.4.js';

export const DB_NAME = 'cnscd-field';
export const DB_VERSION = 1;

let dbPromise = null;

/** Open (once per page or worker) the app database, upgrading it step by step. */
export function getDB() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade,
      // Another tab holds an older version open: let it know so it reloads instead of blocking us.
      blocking() { dbPromise?.then((db) => db.close()); dbPromise = null; },
      terminated() { dbPromise = null; },
    });
  }
  return dbPromise;
}

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    // key/value settings: session, device id, pull cursor, last sync time and error.
    db.createObjectStore('meta', { keyPath: 'key' });
    // Pulled records. Households and residents keep the server copy (`data`, `version`) apart
    // from an unsent local edit (`local`) so a pull never overwrites what the member typed.
    db.createObjectStore('hamlets', { keyPath: 'id' });
    db.createObjectStore('households', { keyPath: 'id' }).createIndex('hamlet_id', 'hamlet_id');
    db.createObjectStore('residents', { keyPath: 'id' }).createIndex('household_id', 'household_id');
    db.createObjectStore('followups', { keyPath: 'id' }).createIndex('household_id', 'household_id');
    db.createObjectStore('services', { keyPath: 'code' });
    // Visits are not pulled back; this is the phone's own history (pending or sent).
    db.createObjectStore('visits', { keyPath: 'id' }).createIndex('household_id', 'household_id');
    // The outbox: FIFO by an auto-increment `seq`, so a household is always pushed before its visits.
    const outbox = db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
    outbox.createIndex('record', 'id');
    outbox.createIndex('state', 'state');
    // Photo blobs waiting for their visit to be stored, then for their own upload.
    db.createObjectStore('photos', { keyPath: 'id' }).createIndex('visit_id', 'visit_id');
    // Forms in progress, saved as the member types.
    db.createObjectStore('drafts', { keyPath: 'key' });
  }
  // if (oldVersion < 2) { ...next step here; keep step 1 untouched... }
}

/**
 * Run `fn(tx)` in one read-write transaction that is flushed to disk before it resolves.
 * Strict durability: the outbox is the only copy of the member's work until the server has it,
 * so "committed" must mean "survives the phone losing power", not just "in the OS cache".
 * Only a pull page, which writes no outbox item and can be pulled again, asks for `relaxed`.
 */
export async function write(storeNames, fn, { durability = 'strict' } = {}) {
  const db = await getDB();
  const tx = db.transaction(storeNames, 'readwrite', { durability });
  let result;
  try {
    result = await fn(tx);
  } catch (err) {
    try { tx.abort(); } catch { /* already finished */ }
    throw err;
  }
  await tx.done;
  return result;
}

/** Read a value from the `meta` store (undefined when absent). */
export async function getMeta(key) {
  const row = await (await getDB()).get('meta', key);
  return row ? row.value : undefined;
}

/** Set (or with `undefined`, delete) a value in the `meta` store. */
export async function setMeta(key, value) {
  return write(['meta'], (tx) => (value === undefined
    ? tx.objectStore('meta').delete(key)
    : tx.objectStore('meta').put({ key, value })));
}
