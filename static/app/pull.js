// Pull: bring the member's hamlets (households, residents, follow-ups, catalogue) up to date.
import { ApiError, request } from './api.js';
import { getMeta, write } from './db.js';
import { unwrap } from '../vendor/idb-8.0.4.js';

const PAGE = 1000; // the server's maximum: a first pull of a big hamlet in as few round trips as it can

/**
 * Progress of the pull under way, for the login screen: `progress` events carry `detail`
 * `{done, remaining, households}` (changes stored so far, the server's estimate of what is left,
 * households among those stored). DOM-free: the service worker runs pulls too.
 */
export const pullEvents = new EventTarget();
pullEvents.last = null; // the pull under way's latest progress, while more pages are to come

function report(detail) {
  pullEvents.last = detail.remaining > 0 ? detail : null;
  const event = new Event('progress');
  event.detail = detail;
  pullEvents.dispatchEvent(event);
}
// Deletion notices reach past the pulled stores: a household that left the member's scope takes
// its drafts and the phone's sent-visit history with it (never anything still in the outbox).
const STORES = ['meta', 'hamlets', 'households', 'residents', 'followups', 'services', 'outbox', 'visits', 'photos', 'drafts'];

/** One page of changes after `cursor` (null: from the start). */
function fetchPage(cursor) {
  const qs = new URLSearchParams({ limit: String(PAGE) });
  if (cursor) qs.set('cursor', cursor);
  return request(`/sync/pull?${qs}`).then(({ data }) => data);
}

/**
 * Pull every page since the stored cursor; each page and its cursor are stored together. The
 * next page is asked for while this one is being stored (the server prepares it while the phone
 * writes): a page is still stored only after the one before it, so an interruption leaves the
 * cursor at the last page kept, as before.
 */
export async function pullAll() {
  const cursor = await getMeta('cursor');
  let total = 0;
  let households = 0;
  try {
    return await pullPages(cursor, (changes, more, remaining) => {
      total += changes.length;
      households += changes.filter((c) => c?.type === 'household').length;
      report({ done: total, remaining: more ? Math.max(0, Number(remaining) || 0) : 0, households });
    });
  } finally {
    // Stopped or done: nothing more is coming in this run (a list waiting for pages stops waiting).
    if (pullEvents.last) report({ done: total, remaining: 0, households, stopped: true });
  }
}

// Pages fetched ahead of the one being stored, at most: the server prepares the next pages while
// the phone parses and stores this one, and a slow phone holds at most this many in memory.
const AHEAD = 2;

/**
 * The page loop of `pullAll`; `stored(changes, more, remaining)` after each page is kept.
 * Fetching runs ahead of storing (up to AHEAD pages): a page is asked for as soon as the one
 * before it has arrived, not once it is stored. Pages are still stored one by one in order, each
 * with its cursor, so an interruption leaves the cursor at the last page kept.
 */
async function pullPages(from, stored) {
  let slots = AHEAD + 1; // the page being stored and those fetched ahead of it
  let waiting = [];
  let stopped = false;
  const release = () => { slots += 1; waiting.forEach((wake) => wake()); waiting = []; };
  const acquire = async () => {
    while (slots === 0 && !stopped) await new Promise((resolve) => { waiting.push(resolve); });
    slots -= 1;
  };
  // The page after `cursor` and, once it is in, the fetch of the one after it.
  const fetchFrom = async (cursor, { clearFirst = false, reset = false } = {}) => {
    await acquire();
    if (stopped) return null;
    let data;
    try {
      data = await fetchPage(cursor);
    } catch (err) {
      // The server no longer knows our cursor (database restored, new server): start over, and
      // replace the pulled copy with what the first page brings, in that page's transaction.
      if (cursor && err instanceof ApiError && (err.status === 400 || err.status === 422) && err.fields.cursor && !reset) {
        release();
        return fetchFrom(null, { clearFirst: true, reset: true });
      }
      throw err;
    }
    const next = data.more ? fetchFrom(data.cursor, { reset }) : null;
    // Not awaited if storing fails: the run stops on that failure, not on this request's.
    next?.catch(() => {});
    return { data, clearFirst, next };
  };

  let total = 0;
  let pending = fetchFrom(from);
  try {
    for (let page = 0; pending && page < 1000; page += 1) {
      const fetched = await pending;
      if (!fetched) break;
      const { data, clearFirst, next } = fetched;
      const changes = data.changes || [];
      await applyPage(changes, data.cursor, clearFirst);
      release();
      total += changes.length;
      stored(changes, data.more, data.remaining);
      pending = next;
      // A task's pause before the next page's transaction: what a page's progress set off (the
      // list's first reads) gets its transactions in first instead of queueing behind the pull.
      if (pending) await new Promise((resolve) => { setTimeout(resolve, 0); });
    }
  } finally {
    stopped = true; // a failure (or the page guard) stops the fetches still queued
    release();
  }
  return total;
}

/**
 * Store one page and its cursor in one transaction. Relaxed durability (no flush to disk before
 * the commit resolves): pulled data is the server's and can be pulled again, and the cursor is in
 * the same transaction, so a page lost to a power cut is lost whole, cursor included, and simply
 * pulled again. The transaction writes nothing to the outbox (it only reads it, to keep unsent
 * work): the member's own records keep their strict commits (db.js, docs/decisions.md).
 */
async function applyPage(changes, cursor, reset) {
  await write(scopeOf(changes, reset), async (tx) => {
    if (reset) await clearPulled(tx);
    // Plain upserts go in runs whose reads are issued together and whose writes are not awaited
    // one by one: a first pull of 8,000 records otherwise waits on 16,000 request round trips.
    // A deletion (which reads indexes and other stores) or a record seen twice ends a run.
    let run = [];
    const seen = new Set();
    // The ids each versioned store holds, read once per page (one request, not one per row):
    // a first pull finds none and reads no row at all. A deletion in the page reads them again.
    const keys = new Map();
    const known = (type) => keys.get(type);
    const flush = async () => {
      for (const type of new Set(run.map((c) => c.type))) {
        if (type in VERSIONED && !keys.has(type)) keys.set(type, new Set(await tx.objectStore(VERSIONED[type][0]).getAllKeys()));
      }
      await applyRun(tx, run, known);
      run = [];
      seen.clear();
    };
    for (const change of changes) {
      const key = `${change?.type}:${change?.id}`;
      if (isUpsert(change) && !seen.has(key)) {
        run.push(change);
        seen.add(key);
        continue;
      }
      await flush();
      if (isUpsert(change)) { run.push(change); seen.add(key); } else { await applyChange(tx, change); keys.clear(); }
    }
    await flush();
    // Same transaction as the data: a crash can never store a cursor past changes we did not keep.
    if (cursor != null) await tx.objectStore('meta').put({ key: 'cursor', value: cursor });
  }, { durability: 'relaxed' });
}

const VERSIONED = { household: ['households', 'hamlet_id'], resident: ['residents', 'household_id'] };

// The store each kind of stored row goes to.
const STORE_OF = { hamlet: 'hamlets', household: 'households', resident: 'residents', followup: 'followups', service: 'services', visit: 'visits' };

/**
 * The stores a page's transaction needs: only those its rows go to (and `meta`, for the cursor)
 * when it holds nothing but rows to store, so the screens' reads of the other stores (the
 * outbox, the hamlets) never wait behind a first pull's pages; every store when it holds a
 * deletion (which reaches drafts, visits, photos and the outbox's index) or replaces the copy.
 */
function scopeOf(changes, reset) {
  if (reset) return STORES;
  const names = new Set(['meta']);
  for (const change of changes) {
    const visit = change?.type === 'visit' && !change.deleted && change.data && typeof change.data === 'object';
    if (!isUpsert(change) && !visit) return STORES;
    names.add(STORE_OF[change.type]);
  }
  return [...names];
}

/** A change that only stores a row (no deletion), with the data it needs. */
function isUpsert(change) {
  if (!change || typeof change !== 'object' || change.deleted) return false;
  if (!change.data || typeof change.data !== 'object') return false;
  return change.type in VERSIONED || change.type === 'hamlet' || change.type === 'service' || change.type === 'followup';
}

/** Apply upserts of distinct records: the rows already stored read together, then every write. */
async function applyRun(tx, run, known) {
  if (!run.length) return;
  // Only rows already on the phone are read (a first pull reads none and waits on nothing).
  const held = run.map((c) => c.type in VERSIONED && known(c.type).has(c.id));
  const rows = held.some(Boolean)
    ? await Promise.all(run.map((c, i) => (held[i] ? tx.objectStore(VERSIONED[c.type][0]).get(c.id) : null)))
    : [];
  const plain = {}; // the plain IndexedDB stores: no promise per row (the transaction's end is awaited instead)
  const writes = [];
  for (let i = 0; i < run.length; i += 1) {
    const change = run[i];
    if (!(change.type in VERSIONED)) { writes.push(applyChange(tx, change)); continue; }
    const [storeName, parentKey] = VERSIONED[change.type];
    const next = { ...(rows[i] || {}), id: change.id, version: change.version, data: change.data };
    next[parentKey] = (next.local || change.data)[parentKey];
    (plain[storeName] ||= unwrap(tx.objectStore(storeName))).put(next);
    known(change.type).add(change.id);
  }
  await Promise.all(writes);
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
