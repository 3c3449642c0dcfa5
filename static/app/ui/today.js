// Today's visits recorded on this phone, newest first, with their household and whether they
// have reached the server; the tally above them (day.js, local data, offline too).
import { tally, todaysVisits } from '../day.js';
import { OUTCOMES, REVIEW, formatTime } from '../labels.js';
import { household, visitKnowledge } from '../records.js';
import { fill, h, screenTitle } from './dom.js';

export async function todayScreen() {
  const node = h('section', {});
  async function load() {
    const { visits } = await visitKnowledge();
    const list = todaysVisits(visits);
    const t = tally(visits).today;
    const heads = new Map();
    for (const v of list) if (!heads.has(v.household_id)) heads.set(v.household_id, await household(v.household_id));
    fill(node,
      screenTitle('Lượt thăm hôm nay', '#/'),
      h('p', { class: 'muted', id: 'today-summary' }, list.length
        ? `${t.visits} lượt thăm ${t.households} hộ, gặp được ${t.reached} hộ.` : 'Hôm nay chưa có lượt thăm nào.'),
      h('ul', { class: 'list', id: 'today-list' }, list.map((v) => {
        const hh = heads.get(v.household_id);
        return h('li', {}, h('a', { href: `#/household/${v.household_id}` },
          h('div', { class: 'item-title' }, hh?.head_name || 'Hộ chưa có trên máy',
            h('span', { class: `tag ${v.state === 'sent' ? 'ok' : 'pending'}` }, v.state === 'sent' ? 'Đã gửi' : 'Chờ gửi'),
            v.review_state && v.review_state !== 'received' ? h('span', { class: `tag review-${v.review_state}` }, REVIEW[v.review_state] || v.review_state) : null),
          h('div', { class: 'item-sub' }, `${formatTime(v.data.visited_at).slice(0, 5)} · ${OUTCOMES[v.data.outcome] || v.data.outcome} · ${v.data.services?.length || 0} dịch vụ`),
          hh?.address ? h('div', { class: 'item-sub' }, hh.address) : null));
      })));
  }
  await load();
  return { node, refresh: load };
}
