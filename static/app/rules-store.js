// Where the phone's copy of the server's input rules comes from: `GET /api/v1/rules` (public) at
// login and on every sync while online, kept in IndexedDB (`meta.rules`) so the forms check the
// same rules offline. Until the first fetch, rules.js's BAKED copy applies.
import { ApiError, request } from './api.js';
import { getMeta, setMeta } from './db.js';
import { useRules } from './rules.js';

const KEY = 'rules';
const FRESH_MS = 60 * 1000; // a login is followed by a sync: one fetch serves both

let lastFetch = 0;
let inFlight = null;

/** Put the stored copy in force (call once at start; harmless when nothing is stored yet). */
export async function loadRules() {
  const stored = await getMeta(KEY);
  if (stored?.rules) useRules(stored.rules);
  return stored?.rules ?? null;
}

/**
 * Fetch the rules if online and store them with their ETag; resolves to true when new rules were
 * put in force, false when unchanged (304), skipped or unreachable. Never throws.
 */
export function refreshRules({ force = false, timeoutMs = 15000 } = {}) {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return Promise.resolve(false);
  if (inFlight) return inFlight;
  if (!force && Date.now() - lastFetch < FRESH_MS) return Promise.resolve(false);
  inFlight = fetchRules(timeoutMs).finally(() => { inFlight = null; });
  return inFlight;
}

async function fetchRules(timeoutMs) {
  const stored = await getMeta(KEY);
  const headers = stored?.etag ? { 'If-None-Match': stored.etag } : {};
  try {
    const { data, headers: got } = await request('/rules', { token: '', headers, timeoutMs });
    lastFetch = Date.now();
    if (!data || typeof data !== 'object' || typeof data.vocab !== 'object') return false;
    await setMeta(KEY, { rules: data, etag: got?.get?.('ETag') || null, fetched_at: new Date().toISOString() });
    useRules(data);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 304) {
      lastFetch = Date.now();
      if (stored?.rules) useRules(stored.rules);
      return false;
    }
    return false; // offline, or a server without the endpoint: keep what we have
  }
}
