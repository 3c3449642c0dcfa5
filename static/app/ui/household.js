// One household: its details, residents, follow-ups and the visits recorded from this phone.
import { formatLocation } from '../geo.js';
import { FIELDS, OUTCOMES, REVIEW, SEX, STATES, displayPhone, formatDate, formatTime } from '../labels.js';
import { itemFor } from '../outbox.js';
import { followupsOf, household, residentsOf, visitsOf } from '../records.js';
import { fill, h, linkButton, screenTitle } from './dom.js';
import { closedText } from './followups.js';

export async function householdScreen({ id }) {
  const node = h('section', {});
  async function load() {
    const hh = await household(id);
    if (!hh) {
      fill(node, screenTitle('Không tìm thấy hộ', '#/'), h('p', {}, 'Hộ này không có trên máy.'));
      return;
    }
    const [residents, visits, items, followups] = await Promise.all([residentsOf(id), visitsOf(id), itemFor(id), followupsOf(id)]);
    const state = items[0]?.state;
    const residentStates = new Map();
    for (const r of residents) residentStates.set(r.id, (await itemFor(r.id))[0]?.state);

    fill(node, 
      screenTitle(hh.head_name || 'Hộ gia đình', `#/hamlet/${hh.hamlet_id}`),
      h('div', { class: 'card' },
        state ? h('p', {}, h('span', { class: `tag ${state}` }, STATES[state])) : null,
        dl([
          [FIELDS.address, hh.address],
          [FIELDS.members_count, `${hh.members_count ?? '?'} (người lớn: ${hh.adults_count ?? '?'})`],
          [FIELDS.phone, displayPhone(hh.phone) || '—'],
          [FIELDS.location, formatLocation(hh.location)],
        ])),
      h('div', { class: 'actions' },
        linkButton('Ghi nhận lượt thăm', `#/household/${id}/visit`, { class: 'btn primary', id: 'record-visit' }),
        linkButton('Sửa thông tin hộ', `#/household/${id}/edit`, { id: 'edit-household' })),

      h('h2', {}, `Nhân khẩu (${residents.length})`),
      h('ul', { class: 'list' }, residents.map((r) => h('li', {}, h('a', { href: `#/resident/${r.id}/edit` },
        h('div', { class: 'item-title' }, r.full_name || (refused(r) ? 'Người không đồng ý cung cấp thông tin' : '(đã ẩn danh)'),
          residentStates.get(r.id) ? h('span', { class: `tag ${residentStates.get(r.id)}` }, STATES[residentStates.get(r.id)]) : null,
          refused(r) ? h('span', { class: 'tag refused' }, 'Không đồng ý') : r.consent && r.consent.given === false ? h('span', { class: 'tag' }, 'Đã rút đồng ý') : null),
        h('div', { class: 'item-sub' }, `${SEX[r.sex] || ''} · sinh năm ${r.birth_year ?? '?'}${r.phone ? ` · ${displayPhone(r.phone)}` : ''}`))))),
      linkButton('+ Thêm nhân khẩu', `#/household/${id}/resident/new`, { class: 'btn block', id: 'add-resident' }),

      followups.open.length + followups.done.length ? h('h2', {}, 'Hẹn thăm lại') : null,
      h('ul', { class: 'list', id: 'household-followups' }, followups.open.map((f) => h('li', {}, h('div', { class: 'item' },
        h('div', { class: 'item-title' }, formatDate(f.due_on), f.local ? h('span', { class: 'tag pending' }, 'Chờ gửi') : null),
        f.note ? h('div', { class: 'item-sub' }, f.note) : null))),
      followups.done.slice(0, 5).map((f) => h('li', { class: 'followup-done' }, h('div', { class: 'item' },
        h('div', { class: 'item-title' }, `Hẹn ${formatDate(f.due_on)}`, h('span', { class: 'tag ok' }, 'Đã xong'),
          f.settling ? h('span', { class: 'tag pending' }, 'Chờ gửi') : null),
        h('div', { class: 'item-sub closed-by' }, closedText(f)),
        f.note ? h('div', { class: 'item-sub' }, f.note) : null)))),

      h('h2', {}, `Lượt thăm (${visits.length})`),
      h('p', { class: 'hint' }, 'Lượt thăm ghi trên máy này, và lượt thăm của tổ đã được xã xem xét.'),
      h('ul', { class: 'list', id: 'visit-list' }, visits.map((v) => h('li', { dataset: { id: v.id } }, h('a', { href: `#/visit/${v.id}`, class: 'item' },
        h('div', { class: 'item-title' }, `${formatTime(v.data.visited_at)} · ${OUTCOMES[v.data.outcome] || v.data.outcome}`,
          v.state === 'pulled' ? null : h('span', { class: `tag ${v.state === 'sent' ? 'ok' : 'pending'}` }, v.state === 'sent' ? 'Đã gửi' : v.sent_data ? 'Bản sửa chờ gửi' : 'Chờ gửi'),
          v.revision > 1 ? h('span', { class: 'tag corrected' }, 'Đã sửa') : null,
          v.review_state && v.review_state !== 'received' ? h('span', { class: `tag review review-${v.review_state}` }, REVIEW[v.review_state] || v.review_state) : null),
        h('div', { class: 'item-sub' }, `${v.data.services.length} dịch vụ${v.has_photo ? ` · ảnh ${v.photo_uploaded ? 'đã gửi' : 'chờ gửi'}` : ''}${v.data.follow_up_on ? ` · hẹn ${formatDate(v.data.follow_up_on)}` : ''}`),
        v.review_comment ? h('p', { class: 'review-comment' }, h('b', {}, 'Nhận xét của xã: '), v.review_comment) : null)))),
    );
  }
  await load();
  return { node, refresh: load };
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', { class: 'muted' }, k), h('dd', { style: 'margin:0 0 8px' }, v)]));
}

/**
 * A resident recorded without consent from the start (name and phone never taken), as opposed
 * to one who withdrew it: the server says `withdrawn_at` for a withdrawal; a new record refused.
 */
export function refused(r) {
  return r.consent?.given === false && !r.consent.withdrawn_at && (r.version == null || !r.pending);
}
