// Follow-ups: those to do (overdue first, then by date; dates set in unsent visits included) and
// those done lately, each with the visit that settled it, so none vanishes without a word.
import { today } from '../ids.js';
import { OUTCOMES, formatDate } from '../labels.js';
import { followups } from '../records.js';
import { sortForDisplay } from '../followup-state.js';
import { fill, h, screenTitle } from './dom.js';

const DONE_DAYS = 30; // done follow-ups listed for this long after the visit that settled them

export async function followupsScreen() {
  const node = h('section', {});
  async function load() {
    const { open, done } = sortForDisplay(await followups());
    const now = today();
    const since = Date.now() - DONE_DAYS * 86400000;
    const recent = done.filter((f) => Date.parse(f.closed_by?.visited_at || f.closed_at || '') >= since);
    const overdue = open.filter((f) => f.due_on < now).length;
    fill(node,
      screenTitle('Hẹn thăm lại'),
      h('p', { class: 'muted' }, open.length ? `${open.length} lượt hẹn${overdue ? `, ${overdue} đã quá hạn` : ''}.` : 'Không có lượt hẹn nào.'),
      h('ul', { class: 'list', id: 'followup-list' }, open.map((f) => {
        const tag = f.due_on < now ? ['overdue', 'Quá hạn'] : f.due_on === now ? ['pending', 'Hôm nay'] : null;
        return h('li', {}, h('a', { href: `#/household/${f.household_id}` },
          h('div', { class: 'item-title' }, formatDate(f.due_on), tag ? h('span', { class: `tag ${tag[0]}` }, tag[1]) : null,
            f.local ? h('span', { class: 'tag pending' }, 'Chờ gửi') : null),
          h('div', { class: 'item-sub' }, householdLine(f)),
          f.note ? h('div', { class: 'item-sub' }, f.note) : null));
      })),
      recent.length ? h('h2', {}, `Đã xong trong ${DONE_DAYS} ngày qua (${recent.length})`) : null,
      h('ul', { class: 'list', id: 'followup-done-list' }, recent.map((f) => h('li', {}, h('a', { href: `#/household/${f.household_id}` },
        h('div', { class: 'item-title' }, `Hẹn ${formatDate(f.due_on)}`, h('span', { class: 'tag ok' }, 'Đã xong'),
          f.settling ? h('span', { class: 'tag pending' }, 'Chờ gửi') : null),
        h('div', { class: 'item-sub' }, householdLine(f)),
        h('div', { class: 'item-sub closed-by' }, closedText(f)),
        f.note ? h('div', { class: 'item-sub' }, f.note) : null)))));
  }
  await load();
  return { node, refresh: load };
}

function householdLine(f) {
  return f.household ? `${f.household.head_name} · ${f.household.address || ''}` : 'Hộ chưa có trên máy';
}

/** "Đã thăm ngày 14/10/2025 (Hoàn thành)": what settled a done follow-up. */
export function closedText(f) {
  const by = f.closed_by;
  if (!by) return f.closed_at ? `Đã đóng ngày ${formatDate(localDate(f.closed_at))}` : 'Đã xong';
  return `Đã thăm ngày ${formatDate(localDate(by.visited_at))} (${OUTCOMES[by.outcome] || by.outcome})`;
}

/** The phone's local calendar day of an ISO time. */
function localDate(iso) {
  const d = new Date(iso);
  return today(d);
}
