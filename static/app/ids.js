// Client-generated ids. Households, residents, visits and photos are created on the phone, so their
// UUIDs are made here; the server uses them as idempotency keys (a retried push answers `duplicate`).

/** A random RFC 4122 version 4 UUID. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Fallback for a non-secure context (plain http on a LAN) where randomUUID is missing.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Now as ISO 8601 with the phone's local offset (e.g. 2025-10-05T09:12:00+07:00), as the API wants. */
export function nowIso(date = new Date()) {
  const pad = (n) => String(Math.abs(n)).padStart(2, '0');
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    + `${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
}

/** Today's local date as YYYY-MM-DD. */
export function today(date = new Date()) {
  return nowIso(date).slice(0, 10);
}
