// Hamlet list → household list with diacritics-insensitive search, the member's tally for the day
// and a "never visited" / "not visited since" filter, all from local data (offline too).
//
// At hamlet scale (2,000 households on a cheap phone) the list shows first and thinks later: the
// rows need only the households, the outbox and the known visits; residents' names, the folded
// search keys and the word index (search-index.js) are built right after the first paint, and only
// the rows near the screen are in the page (vlist.js).
import { lastVisits, tally, visitFilter } from '../day.js';
import { searchKey } from '../fold.js';
import { today } from '../ids.js';
import { addDays } from '../rules.js';
import { allItems } from '../outbox.js';
import { pullEvents } from '../pull.js';
import { hamlet, hamlets, householdCount, householdsOf, residentsByHousehold, visitKnowledge } from '../records.js';
import { buildIndex, search } from '../search-index.js';
import { STATES, displayPhone, formatDate } from '../labels.js';
import { h, linkButton, screenTitle, select } from './dom.js';
import { go } from './router.js';
import { virtualList } from './vlist.js';

const RELOAD_MS = 2500; // while a first pull is still storing pages: redraw at most this often
const DEBOUNCE_MS = 30; // the index answers in a few ms: wait only for a burst of keystrokes

export async function hamletsScreen() {
  const list = await hamlets();
  if (list.length === 1) { go(`/hamlet/${list[0].id}`, { replace: true }); return h('div'); }
  const counts = new Map();
  for (const hm of list) counts.set(hm.id, await householdCount(hm.id));
  return h('section', {},
    screenTitle('Chọn ấp/khu phố'),
    list.length ? null : h('p', { class: 'card' }, 'Chưa có dữ liệu. Hãy kết nối mạng và vào “Đồng bộ”.'),
    h('ul', { class: 'list' }, list.map((hm) => h('li', {},
      h('a', { href: `#/hamlet/${hm.id}` },
        h('div', { class: 'item-title' }, hm.name),
        h('div', { class: 'item-sub' }, `${counts.get(hm.id)} hộ đã có trong ứng dụng / ${hm.households_total ?? '?'} hộ theo danh sách`))))));
}

/** Households of one hamlet; the query stays in the URL so back-navigation keeps the search. */
export async function householdsScreen({ id }, query) {
  const hm = await hamlet(id);
  if (!hm) return h('section', {}, screenTitle('Không tìm thấy ấp', '#/'), h('p', {}, 'Ấp này không có trên máy. Hãy đồng bộ.'));
  const multi = (await hamlets()).length > 1;
  const input = h('input', { type: 'search', id: 'hh-search', name: 'q', value: query.q || '', placeholder: 'Ví dụ: nguyen van a', autocomplete: 'off', enterkeyhint: 'search' });
  const summary = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const listBox = h('ul', { class: 'list', id: 'household-list' });
  const dayBox = h('div', { class: 'card day', id: 'day-tally' });
  // "Chưa thăm từ ngày …": a month back unless the URL says otherwise.
  const filter = select('visit_filter', [['all', 'Tất cả hộ'], ['never', 'Chưa thăm lần nào'], ['since', 'Chưa thăm từ ngày…']], query.f || 'all', { id: 'visit-filter' });
  const since = h('input', { type: 'date', id: 'visit-since', name: 'since', value: query.since || addDays(today(), -30), 'aria-label': 'Chưa thăm từ ngày' });
  let rows = [];
  let index = null; // the search index over `rows`, once built
  let indexing = null;
  const list = virtualList(listBox, row);

  async function load() {
    const [households, items, known] = await Promise.all([householdsOf(hm.id), allItems(), visitKnowledge()]);
    // A household's tag: its own outbox state, else one of its residents' (items name their household).
    const states = new Map();
    const note = (id, state) => { if (id && (!states.has(id) || state !== 'pending')) states.set(id, state); };
    for (const item of items) {
      if (item.type === 'household') note(item.id, item.state);
      else if (item.type === 'resident') note(item.data?.household_id, item.state);
    }
    const last = lastVisits(known.visits, known.followups);
    rows = households.map((hh) => ({ hh, last: last.get(hh.id), state: states.get(hh.id) }));
    index = null;
    indexing = null;
    drawDay(tally(known.visits), rows.filter((r) => r.last).length);
    await draw();
    // The search index right after the first paint, unless a search already asked for it. Not
    // while a first pull is still storing pages: each reload would read every resident again and
    // slow the pull down; a search typed meanwhile builds it, and the pull's end reloads the list.
    if (!loading) setTimeout(() => { ensureIndex(); }, 0);
  }

  /** Residents' names and the folded keys of every row, indexed by word (once per load). */
  function ensureIndex() {
    if (!indexing) {
      const forRows = rows;
      indexing = residentsByHousehold().then((residents) => {
        // Phones as stored (E.164) and as members type them (0912…).
        const keys = forRows.map(({ hh }) => searchKey([hh.head_name, hh.address, hh.phone, displayPhone(hh.phone), ...(residents.get(hh.id) || []).map((r) => r.full_name)].join(' ')));
        if (forRows === rows) index = buildIndex(keys);
        return index;
      });
    }
    return indexing;
  }

  function drawDay(t, visited) {
    dayBox.replaceChildren(
      h('p', { id: 'tally-today' }, h('b', {}, 'Hôm nay: '), `${t.today.visits} lượt thăm, gặp ${t.today.reached} hộ`),
      h('p', { id: 'tally-week' }, h('b', {}, 'Tuần này: '), `${t.week.visits} lượt thăm, gặp ${t.week.reached} hộ`),
      h('p', { class: 'muted', id: 'hamlet-progress' }, `Đã có lượt thăm: ${visited} / ${rows.length} hộ trong ứng dụng`),
      h('div', { class: 'row-buttons' },
        linkButton(`Lượt thăm hôm nay (${t.today.visits})`, '#/today', { class: 'btn', id: 'today-link' }),
        linkButton('Bản đồ ấp', `#/hamlet/${hm.id}/map`, { class: 'btn', id: 'map-link' })));
  }

  async function draw() {
    const query = input.value;
    since.hidden = filter.value !== 'since';
    const visited = visitFilter(filter.value, since.value);
    let candidates = rows;
    if (query.trim()) {
      const ix = index || (await ensureIndex());
      if (query !== input.value) return; // typed on meanwhile: a newer draw follows
      const hits = ix ? search(ix, query) : null;
      if (hits) candidates = hits.map((i) => rows[i]);
    }
    const found = candidates.filter((r) => visited(r.last));
    summary.textContent = query.trim() || filter.value !== 'all' ? `Tìm thấy ${found.length} / ${rows.length} hộ` : `${rows.length} hộ`;
    if (loading) summary.textContent += ` — đang tải thêm (${loading.done.toLocaleString('vi-VN')} / ${(loading.done + loading.remaining).toLocaleString('vi-VN')} bản ghi)`;
    list.show(found);
  }

  let debounce = null;
  const redraw = () => {
    const qs = new URLSearchParams();
    if (input.value) qs.set('q', input.value);
    if (filter.value !== 'all') qs.set('f', filter.value);
    if (filter.value === 'since') qs.set('since', since.value);
    history.replaceState(null, '', `#/hamlet/${hm.id}${qs.toString() ? `?${qs}` : ''}`);
    window.scrollTo(0, Math.min(window.scrollY, listBox.offsetTop));
    return draw();
  };
  input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(redraw, DEBOUNCE_MS);
  });
  filter.addEventListener('change', redraw);
  since.addEventListener('change', redraw);
  // A pull still storing pages (the first login in a big hamlet): the list grows as they land.
  // The sync's end redraws it whole (the router's refresh), without the note.
  let loading = pullEvents.last;
  let reloadTimer = null;
  const onProgress = ({ detail }) => {
    loading = detail.remaining > 0 ? detail : null;
    if (!loading) { clearTimeout(reloadTimer); reloadTimer = null; return; }
    if (!reloadTimer) reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, RELOAD_MS);
  };
  pullEvents.addEventListener('progress', onProgress);
  await load();

  const node = h('section', {},
    screenTitle(hm.name, multi ? '#/' : null),
    dayBox,
    h('div', { class: 'search' },
      h('label', { for: 'hh-search', class: 'legend' }, 'Tìm hộ (tên, địa chỉ, số điện thoại)'),
      input,
      h('div', { class: 'filter-row' }, h('label', { for: 'visit-filter', class: 'visually-hidden' }, 'Lọc theo lượt thăm'), filter, since)),
    summary,
    linkButton('+ Đăng ký hộ mới', `#/hamlet/${hm.id}/new-household`, { class: 'btn primary block', id: 'new-household' }),
    h('div', { style: 'height:10px' }),
    listBox);
  const cleanup = () => {
    clearTimeout(debounce);
    clearTimeout(reloadTimer);
    pullEvents.removeEventListener('progress', onProgress);
    list.destroy();
  };
  return { node, refresh: load, cleanup };
}

function row({ hh, state, last }) {
  return h('li', {}, h('a', { href: `#/household/${hh.id}`, dataset: { id: hh.id } },
    h('div', { class: 'item-title' }, hh.head_name || '(chưa có tên chủ hộ)',
      state ? h('span', { class: `tag ${state}` }, STATES[state]) : null),
    h('div', { class: 'item-sub' }, `${hh.address || ''} · ${hh.members_count ?? '?'} nhân khẩu`),
    h('div', { class: 'item-sub last-visit' }, last ? `Thăm gần nhất: ${formatDate(today(new Date(last)))}` : 'Chưa thăm')));
}
