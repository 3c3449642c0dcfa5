// Pull: bring the member's hamlets (households, residents, follow-ups, catalogue) up to date.
import { ApiError, request } from './api.js';
import { getMeta, write } from './db.js';

const PAGE = 500;
// Deletion notices reach past the pulled stores: a household that left the member's scope takes
// its drafts and the phone's sent-visit history with it (never anything still in the outbox).
const STORES = ['meta', 'hamlets', 'households', 'residents', 'followups', 'services', 'outbox', 'visits', 'photos', 'drafts'];

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

async function applyChange(tx, change) {
  if (!change || typeof change !== 'object') return undefined;
  const { type, id, version, deleted } = change;
  const data = change.data && typeof change.data === 'object' ? change.data : null;
  if (id == null && !data) return undefined;
  // A change that is neither a deletion nor carries its data cannot be stored: skip it rather
  // than fail the page (and so every later page) for it.
  if (!deleted && !data) return undefined;
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
      if (deleted) return dropHousehold(tx, id, version);
      return applyVersioned(tx, 'households', id, version, data, 'hamlet_id');
    case 'resident':
      if (deleted) return dropResident(tx, id, version);
      return applyVersioned(tx, 'residents', id, version, data, 'household_id');
    case 'visit':
      return deleted ? undefined : applyVisit(tx, id, data);
    default:
      return undefined; // a type this app version does not know yet: ignore, never fail the pull
  }
}

/**
 * Store the server copy of a household/resident. An unsent local edit (`row.local`) is kept: it is
 * still in the outbox and will be pushed (or reported as a conflict) against the version it started from.
 */
async function applyVersioned(tx, storeName, id, version, data, parentKey) {
  const store = tx.objectStore(storeName);
  const row = await store.get(id);
  const next = { ...(row || {}), id, version, data };
  next[parentKey] = (next.local || data)[parentKey];
  return store.put(next);
}

/**
 * A visit the office reviewed (pull sends only those): the phone's own copy gets the review
 * (`review_state`, `review_comment`), which the household page shows; a visit this phone does
 * not hold (another member's, or pruned) is kept as `pulled`, so the household lists and the
 * follow-ups know of it too. A visit still in the outbox keeps the member's content.
 */
async function applyVisit(tx, id, data) {
  if (!data.household_id) return undefined;
  const store = tx.objectStore('visits');
  const row = await store.get(id);
  const review = { review_state: data.review_state || null, review_comment: data.review_comment || null };
  if (row) return store.put({ ...row, ...review });
  const { household_id: householdId, visited_at: visitedAt, outcome, notes, services, follow_up_on: followUpOn } = data;
  return store.put({
    id, household_id: householdId, state: 'pulled', has_photo: Boolean(data.photos?.length), ...review,
    data: { household_id: householdId, visited_at: visitedAt, outcome, notes: notes || '', services: services || [], follow_up_on: followUpOn || null },
  });
}

/** Whether the outbox still holds something of this record (an unsent edit or visit). */
async function queued(tx, id) {
  return (await tx.objectStore('outbox').index('record').count(id)) > 0;
}

/**
 * The server no longer has the record for this member (deleted, or out of their hamlets now).
 * Returns whether the row is gone; a row with an unsent local edit stays, shown as the member's.
 */
async function dropVersioned(tx, storeName, id, version) {
  const store = tx.objectStore(storeName);
  const row = await store.get(id);
  if (!row) return true;
  if (row.local || (await queued(tx, id))) {
    await store.put({ ...row, data: null, version: version ?? row.version ?? null });
    return false;
  }
  await store.delete(id);
  return true;
}

async function dropDrafts(tx, keys) {
  const drafts = tx.objectStore('drafts');
  for (const key of keys) await drafts.delete(key);
}

/** A resident left: drop it (unless unsent) and its edit draft. */
async function dropResident(tx, id, version) {
  await dropVersioned(tx, 'residents', id, version);
  await dropDrafts(tx, [`resident:${id}`]);
}

/**
 * A household left: drop it, its residents, its follow-ups, the phone's history of its sent visits
 * and every draft bound to it. What is still in the outbox (an unsent edit of the household or a
 * resident, a visit not yet sent, and photos waiting for upload) stays and is shown: the member's
 * work is never dropped silently; the server answers it when it is pushed.
 */
async function dropHousehold(tx, id, version) {
  await dropVersioned(tx, 'households', id, version);
  for (const row of await tx.objectStore('residents').index('household_id').getAll(id)) {
    await dropResident(tx, row.id, null);
  }
  const followups = tx.objectStore('followups');
  for (const key of await followups.index('household_id').getAllKeys(id)) await followups.delete(key);
  const visits = tx.objectStore('visits');
  const photos = tx.objectStore('photos');
  for (const visit of await visits.index('household_id').getAll(id)) {
    // A sent visit is on the server; its photos, if any are still here, are still to upload.
    if (visit.state !== 'pending' && !(await queued(tx, visit.id)) && !(await photos.index('visit_id').count(visit.id))) {
      await visits.delete(visit.id);
    }
  }
  await dropDrafts(tx, [`household:${id}`, `visit:${id}`, `visit:${id}:photo`, `resident:new:${id}`]);
}
