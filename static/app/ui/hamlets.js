// Hamlet list → household list with diacritics-insensitive search, the member's tally for the day
// and a "never visited" / "not visited since" filter, all from local data (offline too).
import { lastVisits, tally, visitFilter } from '../day.js';
import { matcher, searchKey } from '../fold.js';
import { today } from '../ids.js';
import { addDays } from '../rules.js';
import { allItems } from '../outbox.js';
import { hamlet, hamlets, householdsOf, residentsByHousehold, visitKnowledge } from '../records.js';
import { STATES, displayPhone, formatDate } from '../labels.js';
import { h, linkButton, screenTitle, select } from './dom.js';
import { go } from './router.js';

const PAGE = 100; // rows rendered at once: a cheap phone chokes on thousands of DOM nodes

export async function hamletsScreen() {
  const list = await hamlets();
  if (list.length === 1) { go(`/hamlet/${list[0].id}`, { replace: true }); return h('div'); }
  const counts = new Map();
  for (const hm of list) counts.set(hm.id, (await householdsOf(hm.id)).length);
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
  let shown = PAGE;

  async function load() {
    const [households, residents, items, known] = await Promise.all([householdsOf(hm.id), residentsByHousehold(), allItems(), visitKnowledge()]);
    const states = new Map();
    for (const item of items) if (!states.has(item.id) || item.state !== 'pending') states.set(item.id, item.state);
    const last = lastVisits(known.visits, known.followups);
    rows = households.map((hh) => ({
      hh,
      last: last.get(hh.id),
      state: states.get(hh.id) || (residents.get(hh.id) || []).map((r) => states.get(r.id)).find(Boolean),
      // Phones as stored (E.164) and as members type them (0912…).
      key: searchKey([hh.head_name, hh.address, hh.phone, displayPhone(hh.phone), ...(residents.get(hh.id) || []).map((r) => r.full_name)].join(' ')),
    }));
    drawDay(tally(known.visits), rows.filter((r) => r.last).length);
    draw();
  }

  function drawDay(t, visited) {
    dayBox.replaceChildren(
      h('p', { id: 'tally-today' }, h('b', {}, 'Hôm nay: '), `${t.today.visits} lượt thăm, gặp ${t.today.reached} hộ`),
      h('p', { id: 'tally-week' }, h('b', {}, 'Tuần này: '), `${t.week.visits} lượt thăm, gặp ${t.week.reached} hộ`),
      h('p', { class: 'muted', id: 'hamlet-progress' }, `Đã có lượt thăm: ${visited} / ${rows.length} hộ trong ứng dụng`),
      linkButton(`Lượt thăm hôm nay (${t.today.visits})`, '#/today', { class: 'btn block', id: 'today-link' }));
  }

  function draw() {
    const match = matcher(input.value);
    since.hidden = filter.value !== 'since';
    const visited = visitFilter(filter.value, since.value);
    const found = rows.filter((r) => match(r.key) && visited(r.last));
    summary.textContent = input.value.trim() || filter.value !== 'all' ? `Tìm thấy ${found.length} / ${rows.length} hộ` : `${rows.length} hộ`;
    listBox.replaceChildren(...found.slice(0, shown).map(row));
    if (found.length > shown) {
      listBox.append(h('li', {}, h('button', { type: 'button', class: 'btn block', onClick: () => { shown += PAGE; draw(); } }, `Xem thêm (${found.length - shown})`)));
    }
  }

  let debounce = null;
  const redraw = () => {
    shown = PAGE;
    const qs = new URLSearchParams();
    if (input.value) qs.set('q', input.value);
    if (filter.value !== 'all') qs.set('f', filter.value);
    if (filter.value === 'since') qs.set('since', since.value);
    history.replaceState(null, '', `#/hamlet/${hm.id}${qs.toString() ? `?${qs}` : ''}`);
    draw();
  };
  input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(redraw, 120);
  });
  filter.addEventListener('change', redraw);
  since.addEventListener('change', redraw);
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
  return { node, refresh: load };
}

function row({ hh, state, last }) {
  return h('li', {}, h('a', { href: `#/household/${hh.id}` },
    h('div', { class: 'item-title' }, hh.head_name || '(chưa có tên chủ hộ)',
      state ? h('span', { class: `tag ${state}` }, STATES[state]) : null),
    h('div', { class: 'item-sub' }, `${hh.address || ''} · ${hh.members_count ?? '?'} nhân khẩu`),
    h('div', { class: 'item-sub last-visit' }, last ? `Thăm gần nhất: ${formatDate(today(new Date(last)))}` : 'Chưa thăm')));
}
