// Service worker of the field app (a module worker: registered with {type: 'module'}).
//
// No version to bump by hand: the server fills in VERSION (a hash of every SHELL file's bytes) and
// HASHES (each file's SHA-256, 16 hex digits) when it serves this script (server/web/shell.py).
// Any change to a shell file is thus a new worker and a new cache; the new worker waits until the
// member taps "Có phiên bản mới — tải lại", then deletes the old caches.
import { syncOnce } from './app/sync.js';

const VERSION = 'dev';
const HASHES = {};
const CACHE = `cnscd-shell-${VERSION}`;

// Everything the app needs to start with no network. Also the list the payload test sums up.
const SHELL = [
  '/',
  '/app.css',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
  '/vendor/idb-8.0.4.js',
  '/app/main.js',
  '/app/api.js',
  '/app/batching.js',
  '/app/day.js',
  '/app/db.js',
  '/app/drafts.js',
  '/app/fold.js',
  '/app/search-index.js',
  '/app/map-geometry.js',
  '/app/followup-state.js',
  '/app/geo.js',
  '/app/ids.js',
  '/app/labels.js',
  '/app/outbox.js',
  '/app/photos.js',
  '/app/pull.js',
  '/app/records.js',
  '/app/rules.js',
  '/app/rules-store.js',
  '/app/scheduler.js',
  '/app/session.js',
  '/app/sw-client.js',
  '/app/sync.js',
  '/app/upload.js',
  '/app/ui/dom.js',
  '/app/ui/layout.js',
  '/app/ui/router.js',
  '/app/ui/login.js',
  '/app/ui/hamlets.js',
  '/app/ui/vlist.js',
  '/app/ui/hamlet-map.js',
  '/app/ui/household.js',
  '/app/ui/household-form.js',
  '/app/ui/resident-form.js',
  '/app/ui/visit-form.js',
  '/app/ui/visit-services.js',
  '/app/ui/visit-view.js',
  '/app/ui/widgets.js',
  '/app/ui/followups.js',
  '/app/ui/sync-items.js',
  '/app/ui/sync-screen.js',
  '/app/ui/today.js',
];

self.addEventListener('install', (event) => {
  // Any file that cannot be had with an OK response fails the install (the old worker stays):
  // errors are never cached.
  event.waitUntil((async () => {
    const responses = await Promise.all(SHELL.map(async (url) => (await reuse(url)) || download(url)));
    const cache = await caches.open(CACHE);
    await Promise.all(SHELL.map((url, i) => cache.put(url, responses[i])));
  })());
});

/**
 * A copy already on the phone, if it is byte for byte this version's (SHA-256 against HASHES):
 * what the page has just downloaded (the browser's HTTP cache, no network), or the same file in
 * an older version's cache. A first start then costs the shell once, and an update only the
 * files that changed. Null when there is none.
 */
async function reuse(url) {
  const expected = HASHES[url];
  if (!expected || !self.crypto?.subtle) return null;
  const sources = [() => fetch(url, { cache: 'only-if-cached', mode: 'same-origin' })];
  for (const name of await caches.keys()) {
    if (name.startsWith('cnscd-shell-')) sources.push(() => caches.open(name).then((cache) => cache.match(url)));
  }
  for (const source of sources) {
    try {
      const response = await source();
      if (response?.ok && (await sha256(await response.clone().arrayBuffer())).startsWith(expected)) return response;
    } catch {
      // not in that cache
    }
  }
  return null;
}

/** A fresh copy from the server; `cache: 'reload'` skips the HTTP cache, so nothing stale is kept. */
async function download(url) {
  const response = await fetch(new Request(url, { cache: 'reload' }));
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('cnscd-shell-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The API is never cached: stale households or a cached error would be worse than "offline".
  // Other server pages (commune office, admin) share this origin and are left to the network too.
  if (request.mode === 'navigate') {
    if (url.pathname === '/' || url.pathname === '/index.html') event.respondWith(fromShell('/', request));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(fromShell(url.pathname, request));
});

/** Cache first (the shell is versioned, so the cache is never stale for this worker), network fallback. */
async function fromShell(key, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

// Background Sync: the browser wakes us when a network appears. If the app is open, let the page
// run the sync (it updates the screen); otherwise sync from here. Web Locks keep it to one run.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'cnscd-outbox') return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window' });
    if (windows.length) { windows.forEach((w) => w.postMessage({ type: 'sync-now' })); return; }
    const result = await syncOnce();
    // Throwing asks the browser to retry this sync later with its own backoff.
    if (!result.ok && result.retryable) throw new Error('sync failed, retry later');
  })());
});
