// The sync engine: push the outbox, upload photos, then pull. No DOM here, so the service worker can
// run it too (Background Sync). One run at a time across tabs and the worker (Web Locks).
import { request, ApiError } from './api.js';
import { afterFailure, afterProbe, afterSuccess, persisted, startPlan } from './batching.js';
import { getMeta, setMeta, write } from './db.js';
import { pendingBatch, setAside } from './outbox.js';
import { uploadReadyPhotos } from './upload.js';
import { pullAll } from './pull.js';
import { refreshRules } from './rules-store.js';
import { deviceId, getSession, markExpired } from './session.js';

const STORED = new Set(['created', 'updated', 'duplicate']);
const LOCK = 'cnscd-sync';
const RETRY_PAUSE_MS = 1000; // before sending a single suspect record a second time
const FAILURES_KEY = 'push_failures'; // meta: consecutive server errors on the first batch

/**
 * Run `fn` while no sync runs (in this tab, another one or the service worker), so it never
 * changes an item a push has in flight: a visit's correction must reach the server whole or not
 * at all, as the server keeps the first content it stores under a visit id.
 */
export async function outsideSync(fn) {
  if (typeof navigator !== 'undefined' && navigator.locks) return navigator.locks.request(LOCK, () => fn());
  return fn();
}

/**
 * Run one full sync (`wait`: queue behind a run in another tab or the worker instead of skipping). Resolves to `{ok, skipped?, auth?, error?, pushed, pulled, photos}`; never throws.
 * Every failure leaves the outbox as it was: an item is removed only when its own result says stored.
 */
export async function syncOnce({ wait = false } = {}) {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    // Background triggers skip when a run is under way; an explicit one queues behind it.
    return navigator.locks.request(LOCK, wait ? {} : { ifAvailable: true }, (lock) => (lock ? run() : { ok: false, skipped: true }));
  }
  return run();
}

async function run() {
  const stats = { pushed: 0, pulled: 0, photos: 0 };
  const session = await getSession();
  if (!session?.token) return { ok: false, auth: true, ...stats };
  await setMeta('last_attempt_at', new Date().toISOString());
  // The input rules (public, small) are refreshed alongside; failing to get them fails nothing.
  const rules = refreshRules().catch(() => false);
  try {
    return await steps(stats);
  } finally {
    await rules;
  }
}

async function steps(stats) {
  try {
    stats.pushed = await pushAll();
    stats.photos = await uploadReadyPhotos();
    stats.pulled = await pullAll();
    await pruneSentVisits();
    // One transaction (one flush to disk) for both: a first pull ends here, the member waiting.
    await write(['meta'], async (tx) => {
      const meta = tx.objectStore('meta');
      await meta.put({ key: 'last_sync_at', value: new Date().toISOString() });
      await meta.delete('last_error');
    });
    return { ok: true, ...stats };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await markExpired();
      return { ok: false, auth: true, ...stats };
    }
    await setMeta('last_error', { message: describe(err), status: err.status ?? null, at: new Date().toISOString() });
    return { ok: false, error: err, retryable: err.retryable !== false, ...stats };
  }
}

/**
 * Push pending items in FIFO batches until none is left; throws when a request fails in a way
 * that stops the run. Server errors on a batch split it down to the record that causes them,
 * which is set aside (state `error`) so it never blocks the rest: see batching.js.
 */
async function pushAll() {
  const device = await deviceId();
  const stored = await getMeta(FAILURES_KEY);
  let plan = startPlan(stored);
  let pushed = 0;
  try {
    for (let guard = 0; guard < 10000; guard += 1) {
      const items = await pendingBatch(plan.size);
      if (!items.length) break;
      let data;
      try {
        ({ data } = await request('/sync/push', {
          method: 'POST',
          timeoutMs: 60000,
          body: { device_id: device, items: items.map(({ type, id, base_version, data: d }) => (type === 'visit' && base_version == null ? { type, id, data: d } : { type, id, base_version, data: d })) },
        }));
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) throw err;
        let step = afterFailure(plan, items, err instanceof ApiError ? { status: err.status } : { network: true });
        if (step.action === 'probe') step = afterProbe(step.plan, items, await serverAnswers(device));
        plan = step.plan;
        if (step.action === 'retry') { await pause(RETRY_PAUSE_MS); continue; }
        if (step.action === 'split') continue;
        if (step.action === 'set-aside') { await setAside(items[0], { reason: step.reason, status: err.status ?? null, message: err.message }); continue; }
        throw err;
      }
      plan = afterSuccess(plan);
      const settled = await applyResults(items, data?.results || []);
      pushed += settled;
      if (!settled) break; // an answer we could not match to any item: try again on the next run
    }
  } finally {
    // Remember a server error on the first batch, so the next run knows it is the second.
    const keep = persisted(plan);
    if (JSON.stringify(keep ?? null) !== JSON.stringify(stored ?? null)) await setMeta(FAILURES_KEY, keep ?? undefined);
  }
  return pushed;
}

/**
 * Does the server store pushes at all? An empty push goes through the same authentication,
 * database and commit as a real one: if it succeeds while our batch keeps failing, the batch is
 * the trouble; if it fails, the server is, and the run stops to back off.
 */
async function serverAnswers(device) {
  try {
    await request('/sync/push', { method: 'POST', timeoutMs: 30000, body: { device_id: device, items: [] } });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return false;
  }
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Apply per-item results in one strict transaction; resolves to how many items got an answer.
 * Unknown or missing results leave items pending.
 */
async function applyResults(items, results) {
  return write(['outbox', 'households', 'residents', 'visits', 'photos'], async (tx) => {
    const outbox = tx.objectStore('outbox');
    let settled = 0;
    for (let i = 0; i < items.length; i += 1) {
      const sent = items[i];
      const result = results[i];
      if (!result || result.id !== sent.id) continue; // misaligned answer: keep the item, try again later
      const item = await outbox.get(sent.seq);
      if (!item) { settled += 1; continue; } // dropped by the member meanwhile
      if (STORED.has(result.status)) await stored(tx, sent, item, result);
      else if (result.status === 'conflict') await outbox.put({ ...item, state: 'conflict', server: result.server || null, errors: null, codes: null });
      else if (result.status === 'rejected') await outbox.put({ ...item, state: 'rejected', errors: result.errors || {}, codes: result.codes || null, server: null });
      else continue;
      settled += 1;
    }
    return settled;
  });
}

async function stored(tx, sent, item, result) {
  const outbox = tx.objectStore('outbox');
  if (sent.type === 'visit') {
    await outbox.delete(sent.seq);
    const visits = tx.objectStore('visits');
    const visit = await visits.get(sent.id);
    // `revision`: what a later correction is based on (docs/api.md, "Visit revisions").
    if (visit) {
      const { sent_data: _sent, ...rest } = visit;
      await visits.put({ ...rest, state: 'sent', sent_at: new Date().toISOString(), revision: result.version ?? rest.revision ?? 1 });
    }
    // Now, and only now, may its photos go up.
    const photos = tx.objectStore('photos');
    for (const photo of await photos.index('visit_id').getAll(sent.id)) {
      if (photo.state === 'waiting') await photos.put({ ...photo, state: 'ready' });
    }
    return;
  }
  const store = tx.objectStore(sent.type === 'household' ? 'households' : 'residents');
  const row = await store.get(sent.id);
  const version = result.version ?? row?.version ?? null;
  if (item.rev === sent.rev) {
    await outbox.delete(sent.seq);
    if (row) { delete row.local; await store.put({ ...row, data: sent.data, version }); }
  } else {
    // Edited while the push was in flight: the newer edit stays queued, now based on the stored version.
    await outbox.put({ ...item, base_version: version });
    if (row) await store.put({ ...row, data: sent.data, version });
  }
  await requeueDependents(outbox, sent.id);
}

/** Items rejected because this record was missing (e.g. its household) get another chance. */
async function requeueDependents(outbox, recordId) {
  for (const item of await outbox.index('state').getAll('rejected')) {
    if (item.data?.household_id === recordId) await outbox.put({ ...item, state: 'pending', errors: null, codes: null });
  }
}

const KEEP_SENT_DAYS = 90;

/** The phone keeps its own visit history for a while; sent visits older than that are only on the server. */
async function pruneSentVisits() {
  const cutoff = new Date(Date.now() - KEEP_SENT_DAYS * 86400000).toISOString();
  await write(['visits'], async (tx) => {
    const store = tx.objectStore('visits');
    for (const v of await store.getAll()) {
      if (v.state === 'sent' && v.sent_at && v.sent_at < cutoff) await store.delete(v.id);
      else if (v.state === 'pulled' && (v.data?.visited_at || '') < cutoff) await store.delete(v.id);
    }
  });
}

function describe(err) {
  if (err instanceof ApiError) return `Máy chủ trả lỗi ${err.status}: ${err.message}`;
  return 'Không kết nối được máy chủ';
}

/** When the last successful sync finished (ISO string) and the last error, for the sync screen. */
export async function syncStatus() {
  const [last, error, attempt] = await Promise.all([getMeta('last_sync_at'), getMeta('last_error'), getMeta('last_attempt_at')]);
  return { last_sync_at: last, last_error: error, last_attempt_at: attempt };
}
