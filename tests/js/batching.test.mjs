// The push's batch splitting (static/app/batching.js), driven by a fake server: a poisoned record
// is isolated and set aside, the rest is stored, an outage or a lost network sets nothing aside.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BATCH, afterFailure, afterProbe, afterSuccess, batchKey, classify, persisted, startPlan } from '../../static/app/batching.js';

const outbox = (n) => Array.from({ length: n }, (_, i) => ({ seq: i + 1, rev: 1, id: `r${i + 1}` }));

/**
 * Play sync.js's push loop against `server(batch)` → 'ok' | {status} | {network: true} and
 * `probe()` → boolean, over several runs (each run ends on `stop`, like the scheduler's retries).
 */
function simulate(items, server, { probe = () => true, runs = 20, maxRequests = 10000 } = {}) {
  let pending = [...items];
  const stored = [];
  const setAside = [];
  const log = { pushes: 0, probes: 0, stops: 0 };
  let saved = null;
  for (let run = 0; run < runs && pending.length; run += 1) {
    let plan = startPlan(saved);
    for (;;) {
      if (log.pushes > maxRequests) throw new Error('runaway');
      const batch = pending.slice(0, plan.size);
      if (!batch.length) break;
      log.pushes += 1;
      const answer = server(batch);
      if (answer === 'ok') {
        plan = afterSuccess(plan);
        stored.push(...batch);
        pending = pending.filter((i) => !batch.includes(i));
        continue;
      }
      let step = afterFailure(plan, batch, answer);
      if (step.action === 'probe') { log.probes += 1; step = afterProbe(step.plan, batch, probe()); }
      plan = step.plan;
      if (step.action === 'retry' || step.action === 'split') continue;
      if (step.action === 'set-aside') {
        assert.equal(batch.length, 1);
        setAside.push({ item: batch[0], reason: step.reason });
        pending = pending.filter((i) => i !== batch[0]);
        continue;
      }
      assert.equal(step.action, 'stop');
      log.stops += 1;
      break;
    }
    saved = persisted(plan);
  }
  return { stored, setAside, pending, log };
}

const poisoned = (...ids) => (batch) => (batch.some((i) => ids.includes(i.id)) ? { status: 500 } : 'ok');

describe('classify', () => {
  it('tells the network, the server and the batch apart', () => {
    assert.equal(classify({ network: true }), 'network');
    assert.equal(classify(null), 'network');
    assert.equal(classify({ status: 500 }), 'server');
    assert.equal(classify({ status: 502 }), 'server');
    assert.equal(classify({ status: 504 }), 'server');
    assert.equal(classify({ status: 503 }), 'other');
    assert.equal(classify({ status: 429 }), 'other');
    assert.equal(classify({ status: 401 }), 'other');
    assert.equal(classify({ status: 413 }), 'too_large');
  });
});

describe('a poisoned record', () => {
  it('is isolated and set aside; every other record is stored', () => {
    const items = outbox(250);
    const { stored, setAside, pending, log } = simulate(items, poisoned('r137'));
    assert.deepEqual(setAside.map((s) => [s.item.id, s.reason]), [['r137', 'server_error']]);
    assert.equal(stored.length, 249);
    assert.deepEqual(pending, []);
    assert.ok(log.pushes < 40, `took ${log.pushes} pushes`);
    // The first server error only stops the run (a hiccup is the usual cause): one backoff.
    assert.equal(log.stops, 1);
  });

  it('keeps the order of the others (FIFO: a household before its visits)', () => {
    const { stored } = simulate(outbox(10), poisoned('r4'));
    assert.deepEqual(stored.map((i) => i.id), ['r1', 'r2', 'r3', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10']);
  });

  it('alone in the outbox is set aside on its second failure in a row', () => {
    const { setAside, log } = simulate(outbox(1), poisoned('r1'));
    assert.deepEqual(setAside.map((s) => s.item.id), ['r1']);
    assert.equal(log.pushes, 2);
    assert.equal(log.probes, 1);
  });

  it('and a second one are both set aside', () => {
    const { stored, setAside } = simulate(outbox(100), poisoned('r3', 'r77'));
    assert.deepEqual(setAside.map((s) => s.item.id).sort(), ['r3', 'r77']);
    assert.equal(stored.length, 98);
  });

  it('that makes the server answer 413 is set aside as too large; bigger batches are halved', () => {
    const { stored, setAside } = simulate(outbox(40), (batch) => (batch.some((i) => i.id === 'r9') || batch.length > 16 ? { status: 413 } : 'ok'));
    assert.deepEqual(setAside.map((s) => [s.item.id, s.reason]), [['r9', 'too_large']]);
    assert.equal(stored.length, 39);
  });
});

describe('no record is set aside', () => {
  it('when the server is down (the empty push fails too)', () => {
    const { stored, setAside, pending, log } = simulate(outbox(50), () => ({ status: 500 }), { probe: () => false, runs: 6 });
    assert.deepEqual(setAside, []);
    assert.deepEqual(stored, []);
    assert.equal(pending.length, 50);
    assert.equal(log.stops, 6); // one push (+ one probe) per run, then back off
    assert.ok(log.pushes <= 6);
  });

  it('when the network fails, however often', () => {
    const { setAside, pending, log } = simulate(outbox(5), () => ({ network: true }), { runs: 10 });
    assert.deepEqual(setAside, []);
    assert.equal(pending.length, 5);
    assert.equal(log.probes, 0);
  });

  it('on 503 (unavailable) or 429 (slow down)', () => {
    for (const status of [503, 429]) {
      const { setAside, log } = simulate(outbox(5), () => ({ status }), { runs: 5 });
      assert.deepEqual(setAside, [], String(status));
      assert.equal(log.probes, 0);
    }
  });

  it('after a single passing 500: the next run stores everything', () => {
    let calls = 0;
    const { stored, setAside, log } = simulate(outbox(30), () => (calls++ === 0 ? { status: 500 } : 'ok'));
    assert.deepEqual(setAside, []);
    assert.equal(stored.length, 30);
    assert.equal(log.probes, 0);
  });

  it('when the member edits a record between two server errors: a fresh count', () => {
    const items = outbox(3);
    let plan = startPlan(null);
    let step = afterFailure(plan, items, { status: 500 });
    assert.equal(step.action, 'stop');
    plan = startPlan(persisted(step.plan));
    const edited = [items[0], items[1], { ...items[2], rev: 2 }];
    step = afterFailure(plan, edited, { status: 500 });
    assert.equal(step.action, 'stop');
  });
});

describe('a member who keeps saving', () => {
  it('does not keep the poisoned record from being isolated', () => {
    // Each run sees one more record at the end of the outbox than the last one did.
    let pending = outbox(3);
    let saved = null;
    let next = 4;
    for (let run = 0; run < 2; run += 1) {
      const step = afterFailure(startPlan(saved), pending, { status: 500 });
      if (run === 0) assert.equal(step.action, 'stop');
      else assert.equal(step.action, 'probe'); // the batch that failed is still at its head
      saved = persisted(step.plan);
      pending = [...pending, { seq: next, rev: 1, id: `r${next}` }];
      next += 1;
    }
  });

  it('but a batch whose head changed is another batch', () => {
    const items = outbox(4);
    const saved = persisted(afterFailure(startPlan(null), items.slice(0, 3), { status: 500 }).plan);
    assert.equal(afterFailure(startPlan(saved), items.slice(1), { status: 500 }).action, 'stop');
    assert.equal(afterFailure(startPlan(saved), items.slice(0, 2), { status: 500 }).action, 'stop');
  });
});

describe('plan bookkeeping', () => {
  it('remembers a server error across runs and forgets it after an answer', () => {
    const items = outbox(3);
    const step = afterFailure(startPlan(null), items, { status: 500 });
    const saved = persisted(step.plan);
    assert.deepEqual(saved, { batch: batchKey(items), failures: 1 });
    assert.equal(afterFailure(startPlan(saved), items, { status: 500 }).action, 'probe');
    assert.equal(persisted(afterSuccess(startPlan(saved))), null);
    assert.equal(startPlan(null).size, BATCH);
  });

  it('halves from what was sent, not from the nominal size', () => {
    const step = afterProbe(startPlan(null), outbox(30), true);
    assert.deepEqual([step.action, step.plan.size], ['split', 15]);
    const big = afterFailure(startPlan(null), outbox(30), { status: 413 });
    assert.deepEqual([big.action, big.plan.size], ['split', 15]);
  });
});
