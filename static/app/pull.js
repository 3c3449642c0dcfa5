// Pull: bring the member's hamlets (households, residents, follow-ups, catalogue) up to date.
import { ApiError, request } from './api.js';
import { getMeta, write } from './db.js';

const PAGE = 500;
const STORES = ['meta', 'hamlets', 'households', 'residents', 'followups', 'services'];

/** Pull every page since the stored cursor; each page and its cursor are stored together. */
export async function pullAll() {
  let cursor = await getMeta('cursor');
  let reset = false; // restarted from scratch once already
  let clearFirst = false; // the next stored page replaces the whole pulled copy
  let total = 0;
  for (let page = 0; page < 1000; page += 1) {
    const qs = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) qs.set('cursor', cursor);
    let data;
    try {
      ({ data } = await request(`/sync/pull?${qs}`));
    } catch (err) {
      // The server no longer knows our cursor (database restored, new server): start over, and
      // replace the pulled copy with what the first page brings, in that page's transaction.
      if (cursor && err instanceof ApiError && (err.status === 400 || err.status === 422) && err.fields.cursor && !reset) {
        cursor = null;
        reset = true;
        clearFirst = true;
        continue;
      }
      throw err;
    }
    await applyPage(data.changes || [], data.cursor, clearFirst);
    clearFirst = false;
    total += (data.changes || []).length;
    cursor = data.cursor;
    if (!data.more) break;
  }
  return total;
}

async function applyPage(changes, cursor, reset) {
  await write(STORES, async (tx) => {
    if (reset) await clearPulled(tx);
    for (const change of changes) await applyChange(tx, change);
    // Same transaction as the data: a crash can never store a cursor past changes we did not keep.
    if (cursor != null) await tx.objectStore('meta').put({ key: 'cursor', value: cursor });
  });
}

/** Forget the server copy, keeping rows with an unsent local edit (they are in the outbox). */
async function clearPulled(tx) {
  for (const name of ['hamlets', 'services', 'followups']) await tx.objectStore(name).clear();
  for (const name of ['households', 'residents']) {
    const store = tx.objectStore(name);
    for (const row of await store.getAll()) if (!row.local) await store.delete(row.id);
  }
}

async function applyChange(tx, { type, id, version, deleted, data }) {
  switch (type) {
    case 'hamlet':
      return deleted ? tx.objectStore('hamlets').delete(Number(id)) : tx.objectStore('hamlets').put({ ...data, id: Number(data.id ?? id) });
    case 'service': {
      const code = data?.code ?? id;
      return deleted ? tx.objectStore('services').delete(code) : tx.objectStore('services').put({ ...data, code });
    }
    case 'followup':
      return deleted ? tx.objectStore('followups').delete(id) : tx.objectStore('followups').put({ ...data, id, version });
    case 'household':
      return applyVersioned(tx.objectStore('households'), id, version, deleted, data, 'hamlet_id');
    case 'resident':
      return applyVersioned(tx.objectStore('residents'), id, version, deleted, data, 'household_id');
    default:
      return undefined; // a type this app version does not know yet: ignore, never fail the pull
  }
}

/**
 * Store the server copy of a household/resident. An unsent local edit (`row.local`) is kept: it is
 * still in the outbox and will be pushed (or reported as a conflict) against the version it started from.
 */
async function applyVersioned(store, id, version, deleted, data, parentKey) {
  const row = await store.get(id);
  if (deleted) {
    if (row?.local) { row.data = null; row.version = version; return store.put(row); }
    return store.delete(id);
  }
  const next = { ...(row || {}), id, version, data };
  next[parentKey] = (next.local || data)[parentKey];
  return store.put(next);
}
