// One visit as recorded: when, outcome, services per person, notes, follow-up, where it stands
// (waiting, sent, corrected, reviewed). "Sửa" opens the visit form: an unsent visit is corrected
// in place; a sent one is corrected as a new revision the office sees (docs/pwa.md).
import { OUTCOMES, RESULTS, REVIEW, formatDate, formatTime } from '../labels.js';
import { visitItem } from '../outbox.js';
import { household, residentsOf, services as loadServices, visit as loadVisit } from '../records.js';
import { h, linkButton, screenTitle } from './dom.js';
import { itemNotice } from './sync-items.js';
import { personLabel } from './visit-services.js';

// The office's final word: the server refuses a correction after it (`visit_reviewed`).
export const FINAL_REVIEWS = new Set(['approved', 'rejected']);

/** Whether this phone may correct the visit, and if not, why (Vietnamese). */
export function editable(visit, item) {
  if (!visit) return { ok: false, why: 'Không tìm thấy lượt thăm này trên máy.' };
  if (item) return { ok: true };
  if (visit.state === 'pulled') return { ok: false, why: 'Lượt thăm này được tải về từ máy chủ (ghi trên máy khác): chỉ xem.' };
  if (FINAL_REVIEWS.has(visit.review_state)) return { ok: false, why: 'Xã đã duyệt hoặc không chấp nhận lượt thăm này, không sửa được nữa.' };
  return { ok: true };
}

/** Route '/visit/:vid'. */
export async function visitViewScreen({ vid }) {
  const node = h('section', {});
  async function load() {
    const v = await loadVisit(vid);
    if (!v) { node.replaceChildren(screenTitle('Không tìm thấy lượt thăm', '#/'), h('p', { class: 'card' }, 'Lượt thăm này không có trên máy.')); return; }
    const [hh, residents, catalogue, item] = await Promise.all([household(v.household_id), residentsOf(v.household_id), loadServices(), visitItem(vid)]);
    const people = new Map(residents.map((r) => [r.id, personLabel(r)]));
    const labels = new Map(catalogue.map((s) => [s.code, s.label || s.code]));
    const d = v.data;
    const byService = new Map();
    for (const line of d.services || []) {
      if (!byService.has(line.code)) byService.set(line.code, []);
      byService.get(line.code).push(line);
    }
    const state = item ? (v.sent_data ? 'Bản sửa chờ gửi' : 'Chờ gửi') : v.state === 'sent' ? 'Đã gửi' : 'Tải từ máy chủ';
    const can = editable(v, item);
    node.replaceChildren(
      screenTitle(`Lượt thăm — ${hh?.head_name || 'hộ'}`, `#/household/${v.household_id}`),
      item && item.state !== 'pending' ? itemNotice(item) : null,
      h('div', { class: 'card', id: 'visit-view' },
        h('p', {}, h('span', { class: `tag ${item ? 'pending' : 'ok'}`, id: 'visit-state' }, state),
          v.revision > 1 ? h('span', { class: 'tag corrected', id: 'visit-revision' }, `Đã sửa (${v.revision - 1} lần)`) : null,
          v.review_state && v.review_state !== 'received' ? h('span', { class: `tag review review-${v.review_state}` }, REVIEW[v.review_state] || v.review_state) : null),
        h('dl', { class: 'facts' },
          h('dt', { class: 'muted' }, 'Thời gian'), h('dd', {}, formatTime(d.visited_at)),
          h('dt', { class: 'muted' }, 'Kết quả'), h('dd', { id: 'visit-outcome' }, OUTCOMES[d.outcome] || d.outcome),
          d.notes ? [h('dt', { class: 'muted' }, 'Ghi chú'), h('dd', {}, d.notes)] : null,
          d.follow_up_on ? [h('dt', { class: 'muted' }, 'Hẹn thăm lại'), h('dd', {}, formatDate(d.follow_up_on))] : null),
        v.review_comment ? h('p', { class: 'review-comment' }, h('b', {}, 'Nhận xét của xã: '), v.review_comment) : null),
      h('h2', {}, `Dịch vụ (${byService.size})`),
      byService.size ? h('ul', { class: 'list', id: 'visit-services' }, [...byService].map(([code, lines]) => h('li', { dataset: { code } }, h('div', { class: 'item' },
        h('div', { class: 'item-title' }, labels.get(code) || code),
        lines.map((l) => h('div', { class: 'item-sub' }, `${l.resident_id ? people.get(l.resident_id) || 'Người không còn trong hộ' : 'Cả hộ'}: ${RESULTS[l.result] || l.result}${l.provider ? ` · ${l.provider}` : ''}${l.detail ? ` · ${l.detail}` : ''}`)))))) : h('p', { class: 'hint' }, 'Không ghi dịch vụ.'),
      can.ok ? h('div', { class: 'actions sticky-actions' }, linkButton(v.state === 'sent' && !item ? 'Sửa (gửi bản sửa lên xã)' : 'Sửa', `#/visit/${vid}/edit`, { class: 'btn primary', id: 'edit-visit' }))
        : h('p', { class: 'hint', id: 'visit-locked' }, can.why),
    );
  }
  await load();
  return { node, refresh: load };
}
