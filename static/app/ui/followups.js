// Follow-ups due: overdue first, then by date; includes dates set in visits not yet synced.
import { today } from '../ids.js';
import { formatDate } from '../labels.js';
import { followupsDue } from '../records.js';
import { fill, h, screenTitle } from './dom.js';

export async function followupsScreen() {
  const node = h('section', {});
  async function load() {
    const list = await followupsDue();
    const now = today();
    const overdue = list.filter((f) => f.due_on < now).length;
    fill(node, 
      screenTitle('Hẹn thăm lại'),
      h('p', { class: 'muted' }, list.length ? `${list.length} lượt hẹn${overdue ? `, ${overdue} đã quá hạn` : ''}.` : 'Không có lượt hẹn nào.'),
      h('ul', { class: 'list', id: 'followup-list' }, list.map((f) => {
        const tag = f.due_on < now ? ['overdue', 'Quá hạn'] : f.due_on === now ? ['pending', 'Hôm nay'] : null;
        return h('li', {}, h('a', { href: `#/household/${f.household_id}` },
          h('div', { class: 'item-title' }, formatDate(f.due_on), tag ? h('span', { class: `tag ${tag[0]}` }, tag[1]) : null,
            f.local ? h('span', { class: 'tag pending' }, 'Chờ gửi') : null),
          h('div', { class: 'item-sub' }, `${f.household?.head_name || 'Hộ chưa có trên máy'} · ${f.household?.address || ''}`),
          f.note ? h('div', { class: 'item-sub' }, f.note) : null));
      })));
  }
  await load();
  return { node, refresh: load };
}
