// The household search index (static/app/search-index.js) answers like fold.js's matcher.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { matcher, searchKey } from '../../static/app/fold.js';
import { buildIndex, search } from '../../static/app/search-index.js';

const ROWS = [
  'Nguyễn Văn An, Tổ 3 ấp Bảo Định 0912345678',
  'Trần Thị Lan, Tổ 1',
  'Lê Xuân Đào, Tổ 3 — Nguyễn Thị Hoa',
  'Phạm Văn Nam Nam, Tổ 12',
  '',
  'Đỗ Thanh Tâm +84912345678',
];
const keys = ROWS.map(searchKey);
const index = buildIndex(keys);
const scan = (q) => keys.map((k, i) => (matcher(q)(k) ? i : -1)).filter((i) => i >= 0);

describe('search index', () => {
  it('finds word prefixes without tones, in list order', () => {
    assert.deepEqual(search(index, 'nguyen'), [0, 2]);
    assert.deepEqual(search(index, 'do'), [5]);
    assert.deepEqual(search(index, 'dao'), [2]);
    assert.deepEqual(search(index, 'to 3'), [0, 2]);
  });

  it('needs every word, never a bare substring', () => {
    assert.deepEqual(search(index, 'nguyen hoa'), [2]);
    assert.deepEqual(search(index, 'an'), [0]); // not "Lan", "Xuân", "Nam"
    assert.deepEqual(search(index, 'nguyen lan'), []);
  });

  it('answers null for a query without words, [] for an empty list', () => {
    assert.equal(search(index, '  ,. '), null);
    assert.deepEqual(search(buildIndex([]), 'a'), []);
  });

  it('agrees with the matcher on many queries over generated rows', () => {
    const names = ['Nguyễn', 'Trần', 'Lê', 'Đặng', 'Văn', 'Thị', 'An', 'Anh', 'Ánh', 'Bình', 'Tổ', '12', '3'];
    const rows = [];
    let seed = 7;
    const next = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
    for (let i = 0; i < 400; i += 1) rows.push(Array.from({ length: 1 + (next() % 5) }, () => names[next() % names.length]).join(' '));
    const k = rows.map(searchKey);
    const ix = buildIndex(k);
    const queries = ['', 'a', 'an', 'anh', 'ng', 'nguyen an', 'to 1', 'tran thi', 'd', 'dang binh', '3 van', 'x', 'le le'];
    for (const q of queries) {
      const expected = k.map((key, i) => (matcher(q)(key) ? i : -1)).filter((i) => i >= 0);
      const got = search(ix, q);
      assert.deepEqual(got ?? k.map((_, i) => i), expected, q);
    }
  });

  it('matches a scan of the fixed rows for phone numbers too', () => {
    for (const q of ['0912', '84912', '+84 91', 'ap bao dinh']) assert.deepEqual(search(index, q) ?? [], scan(q), q);
  });
});
