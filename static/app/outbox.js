// The outbox: records made on the phone that the server does not have yet.
//
// An item is `{seq, type, id, base_version, data, state, rev, errors, codes, server, failure,
// created_at, updated_at}` with state `pending` (to push), `rejected` (the server refused it, with
// `errors`/`codes` per field: the member fixes or drops it), `conflict` (someone else changed the
// record: the member picks a version) or `error` (pushing it made the server fail again and again
// while the rest went through, see batching.js; `failure` says how: the member edits, re-sends or
// drops it). Only `pending` items are pushed, so a quarantined item never blocks the rest. Items
// leave the outbox only when the server said it stored them (see sync.js), or when the member
// explicitly drops one.
import { getDB, write } from './db.js';
import { uuid } from './ids.js';

/**
 * Add a record to the outbox inside transaction `tx` (which must include 'outbox').
 * Edits of a household/resident that is still waiting are folded into its existing item: the server
 * then sees one update against the version the member started from, and `rev` tells sync.js that the
 * data changed while a push was in flight.
 */
export async function putInOutbox(tx, { type, id, base_version = null, data }) {
  const store = tx.objectStore('outbox');
  const now = new Date().toISOString();
  if (type !== 'visit') {
    const existing = await store.index('record').getAll(id);
    const item = existing.find((i) => i.type === type);
    if (item) {
      item.data = data;
      item.rev += 1;
      item.updated_at = now;
      // A fixed rejected (or set-aside) item goes back in line. Editing a conflict is the member's
      // pick: their corrected version, re-based on the server's (the form showed both).
      if (item.state === 'conflict') item.base_version = item.server?.version ?? item.base_version;
      if (item.state !== 'pending') Object.assign(item, { state: 'pending', errors: null, codes: null, failure: null, server: null });
      return store.put(item);
    }
  }
  return store.add({ type, id, base_version, data, state: 'pending', rev: 1, errors: null, codes: null, server: null, failure: null, created_at: now, updated_at: now });
}

/** The oldest `limit` pending items, in the order they were made. */
export async function pendingBatch(limit) {
  const db = await getDB();
  return db.getAllFromIndex('outbox', 'state', 'pending', limit);
}

/** All outbox items, oldest first. */
export async function allItems() {
  return (await getDB()).getAll('outbox');
}

/** Counts for the badges: `{pending, rejected, conflict, photos}` (set-aside items: `errorCount`). */
export async function outboxCounts() {
  const db = await getDB();
  const [pending, rejected, conflict, photos] = await Promise.all([
    db.countFromIndex('outbox', 'state', 'pending'),
    db.countFromIndex('outbox', 'state', 'rejected'),
    db.countFromIndex('outbox', 'state', 'conflict'),
    db.count('photos'),
  ]);
  return { pending, rejected, conflict, photos };
}

/** How many items are set aside after server errors (state `error`). */
export async function errorCount() {
  return (await getDB()).countFromIndex('outbox', 'state', 'error');
}

/**
 * Set an item aside after the server failed on it again and again (see batching.js): state
 * `error`, with `failure` = `{reason, status, message, at}`. Only a still-pending item at the same
 * revision is set aside: one the member edited meanwhile deserves another try as it is now.
 */
export async function setAside(sent, { reason, status = null, message = '' }) {
  return write(['outbox'], async (tx) => {
    const store = tx.objectStore('outbox');
    const item = await store.get(sent.seq);
    if (!item || item.state !== 'pending' || item.rev !== sent.rev) return false;
    await store.put({ ...item, state: 'error', failure: { reason, status, message, at: new Date().toISOString() } });
    return true;
  });
}

/** The outbox item for a record, if one is waiting (used to show "Chờ gửi" next to it). */
export async function itemFor(id) {
  return (await getDB()).getAllFromIndex('outbox', 'record', id);
}

const STORE_OF = { household: 'households', resident: 'residents' };

/** The outbox item of a visit (any state), or undefined. */
export async function visitItem(id) {
  return (await itemFor(id)).find((i) => i.type === 'visit');
}

/**
 * Replace an unsent visit's content (the member corrected it) inside `tx` (stores 'outbox' and
 * 'visits'). Only a visit the server has not stored can change: one in the outbox. A conflict
 * (its id taken on the server) is sent under a new id. Returns the visit's id, or null when the
 * visit has left the outbox meanwhile (stored as it was).
 */
export async function replaceVisit(tx, id, data) {
  const outbox = tx.objectStore('outbox');
  const item = (await outbox.index('record').getAll(id)).find((i) => i.type === 'visit');
  if (!item) return null;
  // A revision in conflict is re-based on the server's revision (the form showed it); a new
  // visit whose id is taken is sent under a new id.
  if (item.state === 'conflict' && item.base_version != null) item.base_version = item.server?.version ?? item.base_version;
  else if (item.state === 'conflict') item.id = await renameVisit(tx, item.id, uuid());
  const visits = tx.objectStore('visits');
  const visit = await visits.get(item.id);
  if (visit) await visits.put({ ...visit, household_id: data.household_id, data });
  Object.assign(item, { data, rev: item.rev + 1, updated_at: new Date().toISOString(), state: 'pending', errors: null, codes: null, failure: null, server: null });
  await outbox.put(item);
  return item.id;
}

/** Conflict: keep the member's version, re-based on the server's, and push it again. */
export async function keepMine(seq) {
  return write(['outbox', 'households', 'residents', 'visits', 'photos'], async (tx) => {
    const item = await tx.objectStore('outbox').get(seq);
    if (!item || item.state !== 'conflict') return;
    const server = item.server || {};
    if (item.type === 'visit' && item.base_version != null) {
      item.base_version = server.version ?? item.base_version; // a revision: re-based
    } else if (item.type === 'visit') {
      // A new visit whose id the server holds with other content can only be re-sent as a new
      // visit. Not expected in practice (ids are random); handled for completeness.
      item.id = await renameVisit(tx, item.id, uuid());
    } else {
      item.base_version = server.version ?? item.base_version;
      const store = tx.objectStore(STORE_OF[item.type]);
      const row = await store.get(item.id);
      if (row && server.data) { row.data = server.data; row.version = server.version; await store.put(row); }
    }
    Object.assign(item, { state: 'pending', server: null, errors: null, codes: null, rev: item.rev + 1 });
    await tx.objectStore('outbox').put(item);
  });
}

/** Conflict: take the server's version and drop the member's edit. */
export async function useServer(seq) {
  return write(['outbox', 'households', 'residents', 'visits', 'photos'], async (tx) => {
    const item = await tx.objectStore('outbox').get(seq);
    if (!item) return;
    if (item.type === 'visit') {
      await dropVisit(tx, item.id, item.server);
    } else if (item.server?.data) {
      const store = tx.objectStore(STORE_OF[item.type]);
      const data = item.server.data;
      await store.put({
        id: item.id, version: item.server.version, data,
        [item.type === 'household' ? 'hamlet_id' : 'household_id']: item.type === 'household' ? data.hamlet_id : data.household_id,
      });
    }
    await tx.objectStore('outbox').delete(seq);
  });
}

/** Rejected or set aside: drop the item and undo its local effect (an explicit choice of the member). */
export async function discard(seq) {
  return write(['outbox', 'households', 'residents', 'visits', 'photos'], async (tx) => {
    const item = await tx.objectStore('outbox').get(seq);
    if (!item) return;
    if (item.type === 'visit') {
      await dropVisit(tx, item.id);
    } else {
      const store = tx.objectStore(STORE_OF[item.type]);
      const row = await store.get(item.id);
      if (row && row.data) { delete row.local; await store.put(row); } else if (row) await store.delete(item.id);
    }
    await tx.objectStore('outbox').delete(seq);
  });
}

/**
 * Rejected or set aside: send it again as it is (e.g. after the household it depends on was
 * fixed, or once the server's trouble is mended).
 */
export async function retry(seq) {
  return write(['outbox'], async (tx) => {
    const item = await tx.objectStore('outbox').get(seq);
    if (item && (item.state === 'rejected' || item.state === 'error')) {
      Object.assign(item, { state: 'pending', errors: null, codes: null, failure: null });
      await tx.objectStore('outbox').put(item);
    }
  });
}

/** Every item in `state` ('error' or 'rejected') back in line at once. */
export async function retryAll(state) {
  return write(['outbox'], async (tx) => {
    const store = tx.objectStore('outbox');
    for (const item of await store.index('state').getAll(state)) {
      await store.put({ ...item, state: 'pending', errors: null, codes: null, failure: null });
    }
  });
}

/**
 * Undo an unsent visit. A revision only drops the correction: the visit goes back to what the
 * server holds (`server`, a conflict's copy) or to what was sent (`sent_data`).
 */
async function dropVisit(tx, visitId, server = null) {
  const visits = tx.objectStore('visits');
  const visit = await visits.get(visitId);
  if (visit?.sent_data) {
    const { sent_data: sent, ...rest } = visit;
    const data = server?.data ? serverVisit(server.data) : sent;
    await visits.put({ ...rest, data, state: 'sent', revision: server?.version ?? rest.revision });
    return;
  }
  await visits.delete(visitId);
  const photos = tx.objectStore('photos');
  for (const key of await photos.index('visit_id').getAllKeys(visitId)) await photos.delete(key);
}

/** A visit as pull/the server shows it, in the shape the phone keeps. */
function serverVisit(d) {
  return { household_id: d.household_id, visited_at: d.visited_at, location: d.location || null, outcome: d.outcome, notes: d.notes || '', services: d.services || [], follow_up_on: d.follow_up_on || null };
}

async function renameVisit(tx, oldId, newId) {
  const visits = tx.objectStore('visits');
  const visit = await visits.get(oldId);
  if (visit) { await visits.delete(oldId); await visits.put({ ...visit, id: newId }); }
  const photos = tx.objectStore('photos');
  for (const photo of await photos.index('visit_id').getAll(oldId)) await photos.put({ ...photo, visit_id: newId });
  return newId;
}
