// How a push splits its batches when the server fails on them. Pure: no IndexedDB, no fetch, no
// DOM, no imports, so sync.js (page and service worker) and Node's test runner
// (tests/js/batching.test.mjs) share it.
//
// The danger it defends against: one record that makes the server fail (a 5xx on every push that
// contains it) would block the member's whole outbox for ever, as a failed push keeps every item.
// So:
// - A network failure (offline, timeout: no answer at all), 401, 429, 503 or a 4xx: stop the run;
//   nothing changes, the scheduler backs off and tries the same batch again later.
// - A 5xx: the first on a batch stops the run the same way (a passing hiccup is the usual cause).
//   The second in a row on the same batch (the count outlives the run: `failures` is stored; records
//   saved meanwhile may have joined the batch at its end, `sameBatch`) asks
//   whether the server works at all: an empty push. If that fails too, the server is down: stop.
//   If it succeeds, the batch itself is the trouble: halve it and keep going in this run. While
//   halving, a half that fails (with the server still answering empty pushes) is halved again at
//   once; a single record needs two failures in a row before it is set aside (outbox state
//   `error`), kept for the member to see, edit, send again or drop, never silently dropped.
// - A 413 (too large): halve at once; a single record too large for the server is set aside.
// Any answered push resets the count. A smaller size holds for the rest of the run, or until a
// record is set aside.

export const BATCH = 100; // well under the server's 500 items / 2 MiB per push
export const SERVER_ERRORS_BEFORE_SPLIT = 2;

/**
 * The plan a run starts from. `stored` is what the last run left (`{batch, failures}`, see
 * `persisted`): a batch that already failed once fails "twice in a row" on its next try.
 */
export function startPlan(stored = null, max = BATCH) {
  return {
    max,
    size: max,
    splitting: false,
    batch: stored?.batch ?? null,
    failures: Number.isInteger(stored?.failures) ? stored.failures : 0,
  };
}

/** What of a plan must outlive the run (null: nothing). */
export function persisted(plan) {
  return plan.failures > 0 && plan.batch ? { batch: plan.batch, failures: plan.failures } : null;
}

/** A batch's identity: its items and their revisions (an edited record gets a fresh count). */
export function batchKey(items) {
  return items.map((i) => `${i.seq}.${i.rev ?? 1}`).join(',');
}

/**
 * Whether `key` is the batch that failed before (`previous`), perhaps grown by records the member
 * saved since: the outbox is FIFO, so new records only ever join at the end. Without this, a
 * member who keeps saving while the server fails would never see a failure "twice in a row".
 */
export function sameBatch(previous, key) {
  return previous != null && (key === previous || key.startsWith(`${previous},`));
}

/**
 * What kind of failure an error is: `network` (no answer), `too_large` (413), `server` (a 5xx
 * other than 503) or `other` (401, 429, 503, 4xx…). `failure` is `{status}` or `{network: true}`.
 */
export function classify(failure) {
  if (!failure || failure.network || failure.status == null) return 'network';
  const { status } = failure;
  if (status === 413) return 'too_large';
  // 503 says "unavailable, come back later" (maintenance, overload): the server, not our batch.
  if (status >= 500 && status <= 599 && status !== 503) return 'server';
  return 'other';
}

const half = (n) => Math.max(1, Math.floor(n / 2));

/**
 * A push of `items` (`[{seq, rev}]`, the batch just sent) failed with `failure`.
 * Returns `{action, plan, reason?}`, `action` being:
 *  - `stop`: end the run with this error (the scheduler backs off); store `persisted(plan)`;
 *  - `retry`: send the same batch again now;
 *  - `probe`: ask whether the server works (an empty push), then call `afterProbe`;
 *  - `split`: send the first `plan.size` items next;
 *  - `set-aside`: put the only item in state `error` (`reason`: `server_error` or `too_large`).
 */
export function afterFailure(plan, items, failure) {
  const kind = classify(failure);
  const count = items.length;
  if (kind === 'too_large') {
    if (count > 1) return { action: 'split', plan: { ...plan, size: half(count) } };
    return { action: 'set-aside', reason: 'too_large', plan: reset(plan) };
  }
  if (kind !== 'server') return { action: 'stop', plan };
  const key = batchKey(items);
  const failures = (sameBatch(plan.batch, key) ? plan.failures : 0) + 1;
  const next = { ...plan, batch: key, failures };
  // Halving in this run already showed the server answers: a failing part of a batch that
  // failed twice needs no second failure of its own, unless it is down to one record.
  if (plan.splitting && count > 1) return { action: 'probe', plan: next };
  if (failures < SERVER_ERRORS_BEFORE_SPLIT) return { action: plan.splitting ? 'retry' : 'stop', plan: next };
  return { action: 'probe', plan: next };
}

/** The empty push answered (`healthy`) or not, after `afterFailure` said `probe` for `items`. */
export function afterProbe(plan, items, healthy) {
  if (!healthy) return { action: 'stop', plan };
  if (items.length > 1) return { action: 'split', plan: { ...plan, size: half(items.length), splitting: true, batch: null, failures: 0 } };
  return { action: 'set-aside', reason: 'server_error', plan: reset(plan) };
}

/** A push was answered: the count starts again; the size stays down until a record is set aside. */
export function afterSuccess(plan) {
  return { ...plan, batch: null, failures: 0 };
}

function reset(plan) {
  return { ...plan, size: plan.max, splitting: false, batch: null, failures: 0 };
}
