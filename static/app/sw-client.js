// Service worker registration and the "new version" prompt. A new worker waits (it never takes over
// a running form by itself); the member taps the banner, it activates, and the page reloads once.

/** Register /sw.js; `onUpdate(apply)` is called when a new version is ready, `apply()` switches to it. */
export async function registerServiceWorker(onUpdate) {
  if (!('serviceWorker' in navigator)) return null;
  let wantReload = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Only after the member asked for the new version (the first install also claims the page).
    if (!wantReload) return;
    wantReload = false;
    location.reload();
  });
  let reg;
  try {
    reg = await navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/' });
  } catch (err) {
    console.error('service worker registration failed', err);
    return null;
  }
  const offer = (worker) => onUpdate(() => { wantReload = true; worker.postMessage({ type: 'skip-waiting' }); });
  if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
  reg.addEventListener('updatefound', () => {
    const worker = reg.installing;
    worker?.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    });
  });
  // Phones keep the app open for days: look for a new version now and then, not only at start.
  setInterval(() => { if (navigator.onLine) reg.update().catch(() => {}); }, 60 * 60 * 1000);
  return reg;
}

/** Ask the browser not to evict our data under storage pressure; returns whether it is granted. */
export async function requestPersistence() {
  if (!navigator.storage?.persist) return null;
  if (await navigator.storage.persisted()) return true;
  try { return await navigator.storage.persist(); } catch { return false; }
}

/** Whether storage is persistent now (without asking), or null if the browser cannot tell. */
export async function isPersisted() {
  return navigator.storage?.persisted ? navigator.storage.persisted() : null;
}
