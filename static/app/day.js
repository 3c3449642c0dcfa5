// The member's day from local data (offline too): the last known visit of each household, the
// personal tally, and the household list's "never visited" / "not visited since" filter. Pure (no
// DOM, no IndexedDB): tested with Node in tests/js/day.test.mjs.
//
// What the phone knows of visits: its own (`pending`, `sent`; kept 90 days), those the office
// reviewed (`pulled`, any member's), and the follow-ups (a follow-up was promised by a visit at
// `promised_at` and may have been settled by one at `closed_by.visited_at`). A visit by another
// member that is neither reviewed nor tied to a follow-up is not on the phone.

import { REACHED } from './followup-state.js';

const time = (iso) => {
  const ms = Date.parse(iso || '');
  return Number.isNaN(ms) ? null : ms;
};

/** household id → ISO time of the latest visit the phone knows of. */
export function lastVisits(visits, followups = []) {
  const last = new Map();
  const note = (householdId, iso) => {
    const ms = time(iso);
    if (ms == null || !householdId) return;
    const prev = last.get(householdId);
    if (!prev || ms > time(prev)) last.set(householdId, iso);
  };
  for (const v of visits) note(v.household_id, v.data?.visited_at);
  for (const f of followups) {
    note(f.household_id, f.promised_at);
    note(f.household_id, f.closed_by?.visited_at);
  }
  return last;
}

/** "YYYY-MM-DD" of a time in the phone's time zone. */
export function localDay(msOrIso) {
  const d = new Date(typeof msOrIso === 'number' ? msOrIso : Date.parse(msOrIso));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Monday of the local week of `now` as "YYYY-MM-DD". */
export function weekStart(now = Date.now()) {
  const d = new Date(now);
  const back = (d.getDay() + 6) % 7; // Monday = 0
  return localDay(new Date(d.getFullYear(), d.getMonth(), d.getDate() - back).getTime());
}

/**
 * The member's own visits (recorded on this phone) today and this week (from Monday):
 * `{today: {visits, reached, households}, week: {…}}` where `reached` counts households met (a
 * `completed`/`partial` visit) and `households` every household visited.
 */
export function tally(visits, now = Date.now()) {
  const todayKey = localDay(now);
  const monday = weekStart(now);
  const empty = () => ({ visits: 0, reached: new Set(), households: new Set() });
  const out = { today: empty(), week: empty() };
  for (const v of visits) {
    if (v.state === 'pulled' || time(v.data?.visited_at) == null) continue;
    const day = localDay(v.data.visited_at);
    const spans = [];
    if (day === todayKey) spans.push(out.today);
    if (day >= monday && day <= todayKey) spans.push(out.week);
    for (const span of spans) {
      span.visits += 1;
      span.households.add(v.household_id);
      if (REACHED.has(v.data.outcome)) span.reached.add(v.household_id);
    }
  }
  const count = (s) => ({ visits: s.visits, reached: s.reached.size, households: s.households.size });
  return { today: count(out.today), week: count(out.week) };
}

/** The member's own visits of today, newest first. */
export function todaysVisits(visits, now = Date.now()) {
  const todayKey = localDay(now);
  return visits.filter((v) => v.state !== 'pulled' && v.data?.visited_at && localDay(v.data.visited_at) === todayKey)
    .sort((a, b) => time(b.data.visited_at) - time(a.data.visited_at));
}

/**
 * A predicate on a household's last known visit (ISO or undefined) for the list filter:
 * `all`, `never` (no visit known), or `since` with `sinceDay` "YYYY-MM-DD": not visited on or
 * after that day (never visited included).
 */
export function visitFilter(kind, sinceDay) {
  if (kind === 'never') return (last) => !last;
  if (kind === 'since' && /^\d{4}-\d{2}-\d{2}$/.test(sinceDay || '')) return (last) => !last || localDay(last) < sinceDay;
  return () => true;
}
