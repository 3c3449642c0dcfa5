// The only module that speaks HTTP to the Sync API (/api/v1, see docs/api.md).
import { getMeta } from './db.js';

export const API_BASE = '/api/v1';

/** The server answered with an error status; `code`/`fields` come from its JSON error body. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || String(status);
    this.fields = err.fields || {};
  }
  /** Worth trying again later (server trouble or rate limit), as opposed to a wrong request. */
  get retryable() { return this.status >= 500 || this.status === 429 || this.status === 408; }
}

/** No answer at all: offline, DNS, timeout. Always retryable. */
export class NetworkError extends Error {
  constructor(cause) { super(cause?.message || 'network error'); this.retryable = true; }
}

/**
 * Call the API. `body` is sent as JSON unless it is a Blob; the bearer token comes from the stored
 * session unless `token` is given. Resolves to `{status, data, headers}`; rejects with ApiError/NetworkError
 * (a 304 to a conditional request is an ApiError with status 304).
 */
export async function request(path, { method = 'GET', body, token, headers = {}, timeoutMs = 30000 } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const bearer = token ?? (await getMeta('session'))?.token;
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  let payload;
  if (body instanceof Blob) payload = body;
  else if (body !== undefined) { payload = JSON.stringify(body); h['Content-Type'] = 'application/json'; }

  // A slow 2G link can hang a request for minutes; abort so the sync loop can back off and retry.
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let res;
  let text;
  try {
    res = await fetch(API_BASE + path, { method, headers: h, body: payload, signal: ctrl.signal, cache: 'no-store' });
    text = await res.text();
  } catch (err) {
    throw new NetworkError(err);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, data, headers: res.headers };
}
