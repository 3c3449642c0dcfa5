// When to sync, from the page: at start, on `online`, every few minutes, soon after a save, when the
// service worker relays a Background Sync, and on request. Failures back off exponentially with jitter
// so a flaky 2G link or a struggling server is not hammered.
import { syncOnce } from './sync.js';

export const events = new EventTarget();

const PERIOD_MS = 5 * 60 * 1000;
const BASE_BACKOFF_MS = 2000;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
const SOON_MS = 1500;
const TAG = 'cnscd-outbox';

let failures = 0;
let timer = null;
let running = null;
export const state = { running: false, last: null, nextAttemptAt: null };

/** Start the triggers. Call once from main.js. */
export function startScheduler() {
  window.addEventListener('online', () => { failures = 0; syncNow('online'); });
  window.addEventListener('offline', () => emit());
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') syncSoon(); });
  navigator.serviceWorker?.addEventListener('message', (e) => { if (e.data?.type === 'sync-now') syncNow('background-sync'); });
  setInterval(() => { if (navigator.onLine && document.visibilityState === 'visible') syncNow('periodic'); }, PERIOD_MS);
  syncNow('start');
}

/** Sync in a moment (after a save: lets a burst of saves go up in one push). */
export function syncSoon() {
  registerBackgroundSync();
  schedule(SOON_MS);
}

/**
 * Sync now; resolves with the result. Concurrent calls share one run, except `fresh` ones (after a
 * login, the member's tap): they wait for the run in progress and then run again, so they see
 * everything saved before the call.
 */
export function syncNow(reason = 'manual', { fresh = false } = {}) {
  if (running) return fresh ? running.then(() => syncNow(reason, { fresh })) : running;
  if (!navigator.onLine && !fresh) { emit(); return Promise.resolve({ ok: false, offline: true }); }
  clearTimeout(timer);
  timer = null;
  state.running = true;
  state.nextAttemptAt = null;
  emit();
  running = syncOnce({ wait: fresh }).then((result) => {
    state.last = { ...result, reason, at: new Date().toISOString() };
    if (result.ok) failures = 0;
    else if (result.retryable) {
      failures += 1;
      const delay = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (failures - 1));
      schedule(delay * (0.75 + Math.random() * 0.5));
    }
    if (result.auth) events.dispatchEvent(new Event('auth-required'));
    return result;
  }).finally(() => {
    running = null;
    state.running = false;
    emit();
    events.dispatchEvent(new Event('data-changed'));
  });
  return running;
}

function schedule(ms) {
  clearTimeout(timer);
  state.nextAttemptAt = Date.now() + ms;
  timer = setTimeout(() => { timer = null; if (navigator.onLine) syncNow('retry'); else emit(); }, ms);
}

/** Ask the browser to wake the service worker when a network appears, even if the app is closed. */
async function registerBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    if (reg && 'sync' in reg) await reg.sync.register(TAG);
  } catch { /* not supported or not allowed: the page triggers still work */ }
}

function emit() {
  events.dispatchEvent(new Event('status'));
}
