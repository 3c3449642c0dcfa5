// Follow-ups as the member should see them, offline too. Pure (no DOM, no IndexedDB): tested
// with Node in tests/js/followup-state.test.mjs.
//
// The server's rule (server/services/sync_push.py): a follow-up is settled by a reaching visit
// (`completed`, `partial`) to its household made after the visit that promised it, unless that
// visit lists the promise in `keep_open` (it was about something else). The phone applies the same
// rule to its own visits, so a follow-up the member has just settled shows as done before any
// sync; the next pull brings the server's word (`status`, `closed_by`).

export const REACHED = new Set(['completed', 'partial']);

const time = (iso) => {
  const ms = Date.parse(iso || '');
  return Number.isNaN(ms) ? null : ms;
};

/**
 * `pulled`: follow-up rows as pulled (`{id, household_id, visit_id, due_on, status, note,
 * promised_at, closed_by}`); `visits`: the phone's visits (`{id, household_id, state, data:
 * {visited_at, outcome, follow_up_on, notes, keep_open}}`, state `pending`, `sent`, or `pulled`:
 * another member's visit the office reviewed).
 * Returns every follow-up with `status` ('open' | 'done'), `closed_by` (`{visit_id, visited_at,
 * outcome, local}` or null), `local` (promised by a visit the server does not have yet) and
 * `settling` (done by a visit of this phone not sent yet).
 */
export function followupStates(pulled, visits) {
  const byId = new Map(visits.map((v) => [v.id, v]));
  const list = pulled.map((f) => ({
    ...f,
    promised_at: f.promised_at || byId.get(f.visit_id)?.data?.visited_at || null,
    closed_by: f.closed_by || null,
    local: false,
    settling: false,
  }));
  const known = new Set(list.map((f) => f.visit_id));
  for (const v of visits) {
    // Promised by a visit of this phone whose follow-up has not come back in a pull yet (unsent,
    // or just sent).
    if (!v.data?.follow_up_on || known.has(v.id) || v.state === 'pulled') continue;
    list.push({
      id: `local-${v.id}`, household_id: v.household_id, visit_id: v.id, due_on: v.data.follow_up_on,
      note: v.data.notes || '', status: 'open', promised_at: v.data.visited_at, closed_by: null, local: true, settling: false,
    });
  }
  const byHousehold = new Map();
  for (const v of visits) {
    if (!REACHED.has(v.data?.outcome)) continue;
    if (!byHousehold.has(v.household_id)) byHousehold.set(v.household_id, []);
    byHousehold.get(v.household_id).push(v);
  }
  for (const f of list) {
    if (f.status !== 'open') continue;
    const closer = settlingVisit(f, byHousehold.get(f.household_id) || []);
    if (closer) {
      f.status = 'done';
      f.closed_by = { visit_id: closer.id, visited_at: closer.data.visited_at, outcome: closer.data.outcome, local: true };
      f.settling = closer.state === 'pending';
    }
  }
  return list;
}

/** The earliest of the phone's reaching visits that settles `f`, or null. */
function settlingVisit(f, reaching) {
  const promised = time(f.promised_at);
  let best = null;
  for (const v of reaching) {
    if (v.id === f.visit_id || (v.data.keep_open || []).includes(f.visit_id)) continue;
    const at = time(v.data.visited_at);
    if (at == null) continue;
    // Without the promise's time (an older server), only a visit not sent yet can be later.
    if (promised == null ? v.state !== 'pending' : at <= promised) continue;
    if (!best || at < time(best.data.visited_at)) best = v;
  }
  return best;
}

/** Open follow-ups first by due day, then the done ones, most recently settled first. */
export function sortForDisplay(list) {
  const open = list.filter((f) => f.status === 'open').sort((a, b) => String(a.due_on).localeCompare(String(b.due_on)));
  const done = list.filter((f) => f.status !== 'open')
    .sort((a, b) => (time(b.closed_by?.visited_at || b.closed_at) ?? 0) - (time(a.closed_by?.visited_at || a.closed_at) ?? 0));
  return { open, done };
}
