// Follow-ups settled on the phone the way the server settles them (static/app/followup-state.js).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { followupStates, sortForDisplay } from '../../static/app/followup-state.js';

const H = 'h1';
const visit = (id, visitedAt, outcome, extra = {}) => ({
  id, household_id: H, state: extra.state || 'pending',
  data: { visited_at: visitedAt, outcome, follow_up_on: extra.follow_up_on || null, notes: extra.notes || '', keep_open: extra.keep_open },
});
const pulledOpen = (visitId, promisedAt, extra = {}) => ({
  id: `f-${visitId}`, household_id: H, visit_id: visitId, due_on: '2025-10-12', status: 'open', note: 'cài VNeID', promised_at: promisedAt, ...extra,
});

describe('followupStates', () => {
  it('a later reaching visit of this phone settles a pulled follow-up, before any sync', () => {
    const [f] = followupStates([pulledOpen('a', '2025-10-05T02:00:00+00:00')], [visit('b', '2025-10-06T09:00:00+07:00', 'completed')]);
    assert.equal(f.status, 'done');
    assert.deepEqual(f.closed_by, { visit_id: 'b', visited_at: '2025-10-06T09:00:00+07:00', outcome: 'completed', local: true });
    assert.equal(f.settling, true);
  });

  it('compares times, not strings (offsets differ), and needs the visit to be later', () => {
    // 08:59+07:00 is 01:59Z: before the promise at 02:00Z.
    const [f] = followupStates([pulledOpen('a', '2025-10-05T02:00:00+00:00')], [visit('b', '2025-10-05T08:59:00+07:00', 'completed')]);
    assert.equal(f.status, 'open');
    assert.equal(f.closed_by, null);
  });

  it('visits that do not reach the household, or keep the follow-up open, settle nothing', () => {
    const visits = [
      visit('b', '2025-10-06T09:00:00+07:00', 'not_home'),
      visit('c', '2025-10-07T09:00:00+07:00', 'partial', { keep_open: ['a'] }),
    ];
    const [f] = followupStates([pulledOpen('a', '2025-10-05T02:00:00+00:00')], visits);
    assert.equal(f.status, 'open');
    const [g] = followupStates([pulledOpen('a', '2025-10-05T02:00:00+00:00')], [...visits, visit('d', '2025-10-08T09:00:00+07:00', 'completed', { state: 'sent' })]);
    assert.equal(g.status, 'done');
    assert.equal(g.closed_by.visit_id, 'd');
    assert.equal(g.settling, false); // sent: the server has settled it too
  });

  it('the earliest settling visit is named', () => {
    const visits = [visit('late', '2025-10-09T09:00:00+07:00', 'completed'), visit('early', '2025-10-07T09:00:00+07:00', 'partial')];
    assert.equal(followupStates([pulledOpen('a', '2025-10-05T02:00:00+00:00')], visits)[0].closed_by.visit_id, 'early');
  });

  it('a visit not pulled back yet promises a local follow-up, which a later visit may settle', () => {
    const promise = visit('p', '2025-10-05T09:00:00+07:00', 'partial', { follow_up_on: '2025-10-10', notes: 'quay lại' });
    let [f] = followupStates([], [promise]);
    assert.deepEqual([f.local, f.status, f.due_on, f.note, f.visit_id], [true, 'open', '2025-10-10', 'quay lại', 'p']);
    [f] = followupStates([], [promise, visit('q', '2025-10-06T09:00:00+07:00', 'completed')]);
    assert.equal(f.status, 'done');
    assert.equal(f.closed_by.visit_id, 'q');
  });

  it("the server's word stands: pulled done rows keep their closer, a pulled follow-up is not doubled", () => {
    const done = pulledOpen('a', '2025-10-05T02:00:00+00:00', { status: 'done', closed_by: { visit_id: 'x', visited_at: '2025-10-06T02:00:00+00:00', outcome: 'completed' } });
    const list = followupStates([done], [visit('a', '2025-10-05T09:00:00+07:00', 'partial', { follow_up_on: '2025-10-12', state: 'sent' })]);
    assert.equal(list.length, 1);
    assert.equal(list[0].closed_by.visit_id, 'x');
  });

  it('without the promise time (an older server) only unsent visits settle', () => {
    const f = pulledOpen('a', null);
    assert.equal(followupStates([f], [visit('b', '2025-10-06T09:00:00+07:00', 'completed', { state: 'sent' })])[0].status, 'open');
    assert.equal(followupStates([f], [visit('b', '2025-10-06T09:00:00+07:00', 'completed')])[0].status, 'done');
  });
});

describe('sortForDisplay', () => {
  it('open by due day, done most recently settled first', () => {
    const list = [
      { status: 'open', due_on: '2025-10-12' }, { status: 'open', due_on: '2025-10-08' },
      { status: 'done', closed_by: { visited_at: '2025-10-01T00:00:00Z' } }, { status: 'done', closed_by: { visited_at: '2025-10-03T00:00:00Z' } },
    ];
    const { open, done } = sortForDisplay(list);
    assert.deepEqual(open.map((f) => f.due_on), ['2025-10-08', '2025-10-12']);
    assert.deepEqual(done.map((f) => f.closed_by.visited_at), ['2025-10-03T00:00:00Z', '2025-10-01T00:00:00Z']);
  });
});
