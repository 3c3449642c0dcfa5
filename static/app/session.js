// Login state. The token lives in IndexedDB (the service worker's background sync needs it too).
// Logging out or an expired token never touches the outbox: unsent work outlives any session.
import { request, ApiError } from './api.js';
import { getDB, getMeta, setMeta, write } from './db.js';
import { uuid } from './ids.js';
import { refreshRules } from './rules-store.js';

const PULLED = ['hamlets', 'households', 'residents', 'followups', 'services'];

/** The stored session `{token, expires_at, user}`, or undefined. `token` is null once it expired. */
export async function getSession() {
  return getMeta('session');
}

/** This phone's stable id, sent with logins and pushes so the server can tell devices apart. */
export async function deviceId() {
  let id = await getMeta('device_id');
  if (!id) { id = `pwa-${uuid()}`; await setMeta('device_id', id); }
  return id;
}

/** The user whose unsent records are in the outbox, if any (another user must not push them). */
export async function outboxOwner() {
  const db = await getDB();
  const [count, photos] = await Promise.all([db.count('outbox'), db.count('photos')]);
  return count + photos > 0 ? getMeta('owner') : undefined;
}

/** Log in online; throws ApiError (401 wrong password), NetworkError, or Error('owner') — see below. */
export async function login(username, password) {
  const owner = await outboxOwner();
  if (owner && owner !== username) {
    // Pushing A's records with B's token would misattribute them (and B may lack the scope).
    const err = new Error(`owner:${owner}`);
    err.owner = owner;
    throw err;
  }
  const { data } = await request('/auth/token', {
    method: 'POST', token: '', body: { username, password, device_id: await deviceId() },
  });
  const previous = await getMeta('owner');
  await write(['meta', ...PULLED], async (tx) => {
    if (previous && previous !== username) {
      // Another member's hamlets must not linger on a shared phone (their outbox is empty, checked above).
      await Promise.all(PULLED.map((s) => tx.objectStore(s).clear()));
      await tx.objectStore('meta').delete('cursor');
    }
    await tx.objectStore('meta').put({ key: 'session', value: { token: data.token, expires_at: data.expires_at, user: data.user } });
    await tx.objectStore('meta').put({ key: 'owner', value: username });
  });
  // The forms check what the member types against the server's current rules (never throws).
  await refreshRules({ force: true });
  return data.user;
}

/** Revoke the token if we can reach the server, then forget it. Local data and outbox stay. */
export async function logout() {
  const session = await getSession();
  if (session?.token) {
    try { await request('/auth/token', { method: 'DELETE', timeoutMs: 5000 }); } catch { /* offline: forget anyway */ }
  }
  await setMeta('session', session ? { ...session, token: null, logged_out: true } : undefined);
}

/** The server said 401: keep the user (to prefill the login form) but drop the dead token. */
export async function markExpired() {
  const session = await getSession();
  if (session?.token) await setMeta('session', { ...session, token: null, expired: true });
}

export { ApiError };
