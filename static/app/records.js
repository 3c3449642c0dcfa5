// Local data as the screens see it, and the saves that put the member's work in the outbox.
// Every save writes the record, its outbox item and the removal of its draft in ONE strict
// transaction: either the work is safely queued or the draft is still there.
import { getDB, write } from './db.js';
import { followupStates, sortForDisplay } from './followup-state.js';
import { putInOutbox, replaceVisit } from './outbox.js';

const collator = new Intl.Collator('vi');

/** A household/resident row as shown: the unsent local edit if any, else the server copy. */
export function view(row) {
  if (!row) return null;
  return { ...(row.local || row.data), id: row.id, version: row.version ?? null, pending: Boolean(row.local) };
}

/** The member's hamlets, by code. */
export async function hamlets() {
  const rows = await (await getDB()).getAll('hamlets');
  return rows.sort((a, b) => String(a.code).localeCompare(String(b.code)));
}

export async function hamlet(id) {
  return (await getDB()).get('hamlets', Number(id));
}

/** Households of a hamlet, sorted by head's name the Vietnamese way. */
export async function householdsOf(hamletId) {
  const rows = await (await getDB()).getAllFromIndex('households', 'hamlet_id', Number(hamletId));
  return rows.map(view).sort((a, b) => collator.compare(a.head_name || '', b.head_name || ''));
}

/** How many households of a hamlet the phone holds (a count from the index: nothing is read). */
export async function householdCount(hamletId) {
  return (await getDB()).countFromIndex('households', 'hamlet_id', Number(hamletId));
}

/** Residents grouped by household id, for one hamlet's search haystack. */
export async function residentsByHousehold() {
  const map = new Map();
  for (const row of await (await getDB()).getAll('residents')) {
    const r = view(row);
    if (!map.has(r.household_id)) map.set(r.household_id, []);
    map.get(r.household_id).push(r);
  }
  return map;
}

export async function household(id) {
  return view(await (await getDB()).get('households', id));
}

export async function residentsOf(householdId) {
  const rows = await (await getDB()).getAllFromIndex('residents', 'household_id', householdId);
  return rows.map(view).sort((a, b) => (a.birth_year || 0) - (b.birth_year || 0));
}

export async function resident(id) {
  return view(await (await getDB()).get('residents', id));
}

/** Active services of the catalogue in display order. */
export async function services() {
  const rows = await (await getDB()).getAll('services');
  return rows.filter((s) => s.active !== false).sort((a, b) => (a.sort_order ?? 0) - (b.sort_order ?? 0));
}

/** One visit of the phone's history `{id, household_id, data, state, has_photo}`, or undefined. */
export async function visit(id) {
  return (await getDB()).get('visits', id);
}

/** Visits recorded on this phone for a household, newest first. */
export async function visitsOf(householdId) {
  const rows = await (await getDB()).getAllFromIndex('visits', 'household_id', householdId);
  return rows.sort((a, b) => String(b.data.visited_at).localeCompare(String(a.data.visited_at)));
}

/**
 * Every follow-up the phone knows, settled the way the server settles them (followup-state.js):
 * pulled ones, plus dates set in visits the server has not pulled back yet. Each with its
 * household (`household`, as shown) for the lists.
 */
export async function followups() {
  const db = await getDB();
  const [pulled, visits] = await Promise.all([db.getAll('followups'), db.getAll('visits')]);
  const list = followupStates(pulled, visits);
  const rows = list.length ? await db.getAll('households') : [];
  const heads = new Map(rows.map((row) => [row.id, row]));
  for (const f of list) f.household = view(heads.get(f.household_id));
  return list;
}

/** What the day view needs: the phone's visits and the follow-ups as settled (day.js). */
export async function visitKnowledge() {
  const db = await getDB();
  const [visits, pulled] = await Promise.all([db.getAll('visits'), db.getAll('followups')]);
  return { visits, followups: followupStates(pulled, visits) };
}

/**
 * One household's follow-ups: `{open, done}` (open by due day, done most recent first).
 * `exceptVisit`: as if that visit were not recorded (the visit form correcting it).
 */
export async function followupsOf(householdId, exceptVisit = null) {
  const db = await getDB();
  const [pulled, visits] = await Promise.all([
    db.getAllFromIndex('followups', 'household_id', householdId), db.getAllFromIndex('visits', 'household_id', householdId)]);
  return sortForDisplay(followupStates(pulled.filter((f) => f.visit_id !== exceptVisit), visits.filter((v) => v.id !== exceptVisit)));
}

/** Save a new or edited household (queued for sync) and drop its draft. */
export async function saveHousehold(id, data, draftKey) {
  return saveRecord('household', 'households', { id, data, hamlet_id: data.hamlet_id }, draftKey);
}

/** Save a new or edited resident (queued for sync) and drop its draft. */
export async function saveResident(id, data, draftKey) {
  return saveRecord('resident', 'residents', { id, data, household_id: data.household_id }, draftKey);
}

async function saveRecord(type, storeName, { id, data, ...keys }, draftKey) {
  return write([storeName, 'outbox', 'drafts'], async (tx) => {
    const store = tx.objectStore(storeName);
    const row = (await store.get(id)) || { id, version: null, data: null };
    // Saving over a conflict takes the member's corrected version against the server's current
    // one (putInOutbox re-bases the item on it): keep that server copy as the row's base too.
    const conflict = (await tx.objectStore('outbox').index('record').getAll(id)).find((i) => i.type === type && i.state === 'conflict');
    if (conflict?.server?.data) Object.assign(row, { data: conflict.server.data, version: conflict.server.version ?? row.version });
    Object.assign(row, keys, { local: data });
    await store.put(row);
    await putInOutbox(tx, { type, id, base_version: row.version ?? null, data });
    await dropDrafts(tx, draftKey);
  });
}

/** Save a visit (append-only) with its optional photo, queued for sync; drop its draft. */
export async function saveVisit({ id, data, photo }, draftKey) {
  return write(['visits', 'outbox', 'photos', 'drafts'], async (tx) => {
    const now = new Date().toISOString();
    await tx.objectStore('visits').put({ id, household_id: data.household_id, data, state: 'pending', has_photo: Boolean(photo), created_at: now });
    await putInOutbox(tx, { type: 'visit', id, data });
    if (photo) {
      // 'waiting' until the server stores the visit; the upload must never precede it.
      await tx.objectStore('photos').put({ id: photo.id, visit_id: id, blob: photo.blob, type: photo.blob.type || 'image/jpeg', state: 'waiting', attempts: 0, error: null, created_at: now });
    }
    await dropDrafts(tx, draftKey);
  });
}

/**
 * Save the member's correction of a visit the server has not stored (refused, set aside, in
 * conflict, or waiting); drop its draft. Resolves to the visit's id (new for a conflict), or null
 * when the visit was stored meanwhile as it was (then nothing changes and the draft stays).
 */
export async function saveVisitCorrection(id, data, draftKey) {
  return write(['visits', 'outbox', 'photos', 'drafts'], async (tx) => {
    const newId = await replaceVisit(tx, id, data);
    if (newId) await dropDrafts(tx, draftKey);
    return newId;
  });
}

/**
 * Correct a visit the server has stored: a new revision, queued with `base_version` = the
 * revision the phone holds (docs/api.md, "Visit revisions"). The sent content stays on the row as
 * `sent_data` until the server stores the revision (or the member drops it). Resolves to the
 * visit's id, or null when the visit is not a sent one (then nothing changes).
 */
export async function saveVisitRevision(id, data, draftKey) {
  return write(['visits', 'outbox', 'drafts'], async (tx) => {
    const visits = tx.objectStore('visits');
    const visit = await visits.get(id);
    if (!visit || visit.state !== 'sent') return null;
    await visits.put({ ...visit, data, state: 'pending', sent_data: visit.sent_data || visit.data });
    await putInOutbox(tx, { type: 'visit', id, base_version: visit.revision || 1, data });
    await dropDrafts(tx, draftKey);
    return id;
  });
}

async function dropDrafts(tx, keys) {
  for (const key of [].concat(keys || [])) await tx.objectStore('drafts').delete(key);
}
