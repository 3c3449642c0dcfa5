// Hamlet list → household list with diacritics-insensitive search.
import { matcher, searchKey } from '../fold.js';
import { allItems } from '../outbox.js';
import { hamlet, hamlets, householdsOf, residentsByHousehold } from '../records.js';
import { STATES } from '../labels.js';
import { h, linkButton, screenTitle } from './dom.js';
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
  let rows = [];
  let shown = PAGE;

  async function load() {
    const [households, residents, items] = await Promise.all([householdsOf(hm.id), residentsByHousehold(), allItems()]);
    const states = new Map();
    for (const item of items) if (!states.has(item.id) || item.state !== 'pending') states.set(item.id, item.state);
    rows = households.map((hh) => ({
      hh,
      state: states.get(hh.id) || (residents.get(hh.id) || []).map((r) => states.get(r.id)).find(Boolean),
      key: searchKey([hh.head_name, hh.address, hh.phone, ...(residents.get(hh.id) || []).map((r) => r.full_name)].join(' ')),
    }));
    draw();
  }

  function draw() {
    const match = matcher(input.value);
    const found = rows.filter((r) => match(r.key));
    summary.textContent = input.value.trim() ? `Tìm thấy ${found.length} / ${rows.length} hộ` : `${rows.length} hộ`;
    listBox.replaceChildren(...found.slice(0, shown).map(row));
    if (found.length > shown) {
      listBox.append(h('li', {}, h('button', { type: 'button', class: 'btn block', onClick: () => { shown += PAGE; draw(); } }, `Xem thêm (${found.length - shown})`)));
    }
  }

  let debounce = null;
  input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      shown = PAGE;
      history.replaceState(null, '', `#/hamlet/${hm.id}${input.value ? `?q=${encodeURIComponent(input.value)}` : ''}`);
      draw();
    }, 120);
  });
  await load();

  const node = h('section', {},
    screenTitle(hm.name, multi ? '#/' : null),
    h('div', { class: 'search' },
      h('label', { for: 'hh-search', class: 'legend' }, 'Tìm hộ (tên, địa chỉ, số điện thoại)'),
      input),
    summary,
    linkButton('+ Đăng ký hộ mới', `#/hamlet/${hm.id}/new-household`, { class: 'btn primary block', id: 'new-household' }),
    h('div', { style: 'height:10px' }),
    listBox);
  return { node, refresh: load };
}

function row({ hh, state }) {
  return h('li', {}, h('a', { href: `#/household/${hh.id}` },
    h('div', { class: 'item-title' }, hh.head_name || '(chưa có tên chủ hộ)',
      state ? h('span', { class: `tag ${state}` }, STATES[state]) : null),
    h('div', { class: 'item-sub' }, `${hh.address || ''} · ${hh.members_count ?? '?'} nhân khẩu`)));
}
