// The day view's pure logic (static/app/day.js): last visits, the tally, the list filter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { lastVisits, localDay, tally, todaysVisits, visitFilter, weekStart } from '../../static/app/day.js';

process.env.TZ = process.env.TZ || 'Asia/Ho_Chi_Minh';
// Wednesday 8 October 2025, 15:00 in Vietnam.
const NOW = Date.parse('2025-10-08T15:00:00+07:00');
const v = (id, household, visitedAt, outcome = 'completed', state = 'sent') => ({ id, household_id: household, state, data: { visited_at: visitedAt, outcome } });

describe('lastVisits', () => {
  it('takes the latest of visits and follow-ups (promise and settling visit), by time', () => {
    const last = lastVisits(
      [v('a', 'h1', '2025-10-01T09:00:00+07:00'), v('b', 'h1', '2025-10-03T01:00:00Z'), v('c', 'h2', '2025-09-01T09:00:00+07:00')],
      [{ household_id: 'h2', promised_at: '2025-09-20T02:00:00+00:00', closed_by: { visited_at: '2025-09-25T02:00:00+00:00' } },
        { household_id: 'h3', promised_at: '2025-09-10T02:00:00+00:00', closed_by: null }],
    );
    assert.equal(last.get('h1'), '2025-10-03T01:00:00Z');
    assert.equal(last.get('h2'), '2025-09-25T02:00:00+00:00');
    assert.equal(last.get('h3'), '2025-09-10T02:00:00+00:00');
    assert.equal(last.get('h4'), undefined);
  });
});

describe('tally', () => {
  it('counts own visits today and since Monday, households met apart from households visited', () => {
    const visits = [
      v('a', 'h1', '2025-10-08T09:00:00+07:00'),
      v('b', 'h2', '2025-10-08T10:00:00+07:00', 'not_home', 'pending'),
      v('c', 'h1', '2025-10-07T09:00:00+07:00', 'partial'),
      v('d', 'h3', '2025-10-06T08:00:00+07:00'), // Monday
      v('e', 'h4', '2025-10-05T20:00:00+07:00'), // Sunday: last week
      v('f', 'h5', '2025-10-08T11:00:00+07:00', 'completed', 'pulled'), // another member's
    ];
    assert.deepEqual(tally(visits, NOW), {
      today: { visits: 2, reached: 1, households: 2 },
      week: { visits: 4, reached: 2, households: 3 },
    });
  });

  it('weeks start on Monday in the local time zone', () => {
    assert.equal(weekStart(NOW), '2025-10-06');
    assert.equal(weekStart(Date.parse('2025-10-12T23:00:00+07:00')), '2025-10-06'); // Sunday
    assert.equal(weekStart(Date.parse('2025-10-06T00:30:00+07:00')), '2025-10-06');
    assert.equal(localDay('2025-10-07T18:30:00Z'), '2025-10-08'); // 01:30 on the 8th in Vietnam
  });
});

describe('todaysVisits', () => {
  it("lists today's own visits, newest first", () => {
    const visits = [v('a', 'h1', '2025-10-08T09:00:00+07:00'), v('b', 'h2', '2025-10-08T10:00:00+07:00'),
      v('c', 'h1', '2025-10-07T09:00:00+07:00'), v('f', 'h5', '2025-10-08T11:00:00+07:00', 'completed', 'pulled')];
    assert.deepEqual(todaysVisits(visits, NOW).map((x) => x.id), ['b', 'a']);
  });
});

describe('visitFilter', () => {
  it('never visited, not visited since a day (never included), or all', () => {
    const never = visitFilter('never');
    assert.equal(never(undefined), true);
    assert.equal(never('2025-10-01T09:00:00+07:00'), false);
    const since = visitFilter('since', '2025-10-01');
    assert.equal(since(undefined), true);
    assert.equal(since('2025-09-30T23:00:00+07:00'), true);
    assert.equal(since('2025-10-01T00:30:00+07:00'), false);
    assert.equal(visitFilter('since', 'garbage')('2025-01-01T00:00:00Z'), true);
    assert.equal(visitFilter('all')(undefined), true);
  });
});
