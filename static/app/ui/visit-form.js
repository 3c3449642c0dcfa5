// Record a visit: outcome, services per resident, notes, follow-up date, GPS, optional photo with
// consent. Everything typed is kept as a draft; the photo is downscaled and kept as its own draft.
// The same form corrects a visit the server has not stored (refused, set aside, in conflict):
// '/visit/:vid/edit', opened from the sync screen, with the server's reasons above it and the
// visit's time editable (a refusal is often a phone clock that was wrong). A visit the server has
// stored is corrected the same way, saved as a new revision (saveVisitRevision).
import { deleteDraft, draftSaver, loadDraft } from '../drafts.js';
import { write } from '../db.js';
import { nowIso, today, uuid } from '../ids.js';
import { OUTCOMES, formatDate } from '../labels.js';
import { downscale } from '../photos.js';
import { visitItem } from '../outbox.js';
import { REACHED } from '../followup-state.js';
import { followupsOf, household, residentsOf, saveVisit, saveVisitCorrection, saveVisitRevision, services as loadServices, visit as loadVisit } from '../records.js';
import { addDays, checkVisit, currentRules, localDay } from '../rules.js';
import { syncSoon } from '../scheduler.js';
import { outsideSync } from '../sync.js';
import { h, field, screenTitle, button, toast } from './dom.js';
import { go } from './router.js';
import { itemNotice } from './sync-items.js';
import { serviceChecklist, stateFromLines } from './visit-services.js';
import { editable } from './visit-view.js';
import { draftNotice, locationPicker, problemText, savedMessage } from './widgets.js';

/** Route '/household/:id/visit' (a new visit) and '/visit/:vid/edit' (correct an unsent one). */
export async function visitFormScreen({ id, vid }) {
  const editing = vid ? await loadVisit(vid) : null;
  const item = vid ? await visitItem(vid) : null;
  const can = vid ? editable(editing, item) : { ok: true };
  if (!can.ok) {
    return h('section', {}, screenTitle('Không sửa được lượt thăm', editing ? `#/visit/${vid}` : '#/sync'), h('p', { class: 'card', id: 'visit-locked' }, can.why));
  }
  // A sent visit is corrected as a new revision, which the office sees (docs/api.md).
  const revising = Boolean(editing && !item);
  const householdId = editing ? editing.household_id : id;
  const hh = await household(householdId);
  if (!hh) return h('section', {}, screenTitle('Không tìm thấy hộ', '#/'));
  const draftKey = editing ? `visit-edit:${vid}` : `visit:${householdId}`;
  const photoKey = `${draftKey}:photo`;
  const [draft, photoDraft, residents, catalogue, followups] = await Promise.all([
    loadDraft(draftKey), editing ? null : loadDraft(photoKey), residentsOf(householdId), loadServices(), followupsOf(householdId, vid)]);
  const fromLines = editing ? stateFromLines(editing.data.services, residents) : null;
  const v = draft?.value || (editing
    ? { ...editing.data, id: vid, follow_up_on: editing.data.follow_up_on || '', consent: false, services: fromLines.state, visited_local: localInput(editing.data.visited_at) }
    : { id: uuid(), outcome: '', notes: '', follow_up_on: '', consent: false, services: {} });
  let photo = photoDraft?.value || null; // {id, blob, width, height}
  const back = !editing ? `#/household/${householdId}` : item && item.state !== 'pending' ? '#/sync' : `#/visit/${vid}`;
  // When the visit happened: now for a new one; the member may correct it on a refused one.
  const when = editing ? h('input', { name: 'visited_at', type: 'datetime-local', id: 'visited-at', value: v.visited_local || '' }) : null;
  const visitDay = () => (when ? localDay(fromLocalInput(when.value) || '') || today() : today());

  const notice = draftNotice(draft?.saved_at);
  const saver = draftSaver(draftKey, () => collectDraft(), notice.saved);
  const outcomeBox = h('fieldset', { class: 'choices', id: 'outcome' }, h('legend', {}, 'Kết quả lượt thăm ', h('span', { class: 'req' }, '*')),
    currentRules().vocab.outcomes.map((code) => [code, OUTCOMES[code] || code]).map(([code, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'outcome', value: code, checked: v.outcome === code }), label)),
    h('p', { class: 'error', id: 'outcome-err', role: 'alert' }));
  const keepOpen = openFollowups(followups.open, v.keep_open || [], outcomeBox);
  const checklist = serviceChecklist(catalogue, residents, v.services, () => saver.schedule());
  const notes = h('textarea', { name: 'notes', rows: '3' }, v.notes || '');
  const followUp = h('input', { name: 'follow_up_on', type: 'date', min: visitDay(), max: addDays(visitDay(), currentRules().dates.follow_up_max_days), value: v.follow_up_on || '' });
  const gps = locationPicker(v.location, () => saver.schedule(), 'Vị trí GPS lúc thăm');
  const consent = h('input', { type: 'checkbox', name: 'photo_consent', id: 'photo-consent', checked: Boolean(v.consent) });
  const consentErr = h('p', { class: 'error', role: 'alert' });
  const formErr = h('p', { class: 'error', role: 'alert', id: 'visit-form-error' });
  // The native file button shows the browser's language, not ours: hide it behind a labelled button.
  const fileInput = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'photo-input', name: 'photo', class: 'visually-hidden' });
  const photoBox = h('div', { id: 'photo-box' });
  const photoButton = h('label', { for: 'photo-input', class: 'btn' }, 'Chụp ảnh');

  function collectDraft() {
    return {
      keep_open: keepOpen.get(),
      id: v.id,
      outcome: outcomeBox.querySelector('input:checked')?.value || '',
      notes: notes.value,
      follow_up_on: followUp.value,
      location: gps.get(),
      consent: consent.checked,
      services: checklist.state(),
      visited_local: when?.value,
    };
  }

  function showPhoto() {
    photoButton.textContent = photo ? 'Chụp lại' : 'Chụp ảnh';
    if (!photo) { photoBox.replaceChildren(h('p', { class: 'hint' }, 'Chưa có ảnh.')); return; }
    const url = URL.createObjectURL(photo.blob);
    const img = h('img', { class: 'photo-preview', src: url, alt: 'Ảnh lượt thăm', onLoad: () => URL.revokeObjectURL(url) });
    photoBox.replaceChildren(img,
      h('p', { class: 'hint' }, `${photo.width}×${photo.height} px, ${Math.round(photo.blob.size / 1024)} KB`),
      button('Xoá ảnh', removePhoto, { class: 'btn danger', id: 'remove-photo' }));
  }

  async function onPhoto() {
    const file = fileInput.files?.[0];
    if (!file) return;
    photoBox.replaceChildren(h('p', { class: 'hint' }, 'Đang thu nhỏ ảnh…'));
    try {
      const small = await downscale(file);
      photo = { id: photo?.id || uuid(), ...small };
      // The photo is its own draft: it is written once, not again with every keystroke.
      await write(['drafts'], (tx) => tx.objectStore('drafts').put({ key: photoKey, value: photo, saved_at: new Date().toISOString() }));
    } catch (err) {
      toast('Không đọc được ảnh. Thử chụp lại.');
      console.error(err);
    }
    fileInput.value = '';
    showPhoto();
  }

  async function removePhoto() {
    photo = null;
    await deleteDraft(photoKey);
    showPhoto();
  }

  async function onSubmit(event) {
    event.preventDefault();
    const d = collectDraft();
    const outcomeErr = d.outcome ? '' : 'Chọn kết quả lượt thăm';
    outcomeBox.querySelector('#outcome-err').textContent = outcomeErr;
    consentErr.textContent = photo && !d.consent ? 'Cần người dân đồng ý trước khi lưu ảnh (hoặc xoá ảnh).' : '';
    const svcErr = checklist.validate();
    // The server's rules (rules.js): text, dates, vocabularies, the phone's clock.
    const visitedAt = when ? fromLocalInput(when.value) : nowIso();
    const { data, errors } = checkVisit({
      household_id: householdId,
      visited_at: visitedAt,
      location: d.location,
      outcome: d.outcome,
      notes: d.notes,
      services: checklist.lines(),
      follow_up_on: d.follow_up_on || null,
      // Only when some are kept: a visit without it hashes as before on the server.
      ...(d.keep_open.length ? { keep_open: d.keep_open } : {}),
    });
    const fuErr = problemText(errors.follow_up_on, 'follow_up_on', {
      before_visit: 'Ngày hẹn phải từ hôm nay trở đi',
      too_far_ahead: `Ngày hẹn tối đa ${currentRules().dates.follow_up_max_days} ngày sau lượt thăm`,
    });
    followUp.setCustomValidity(fuErr);
    document.getElementById(`${followUp.id}-err`).textContent = fuErr;
    const notesErr = problemText(errors.notes, 'visit.notes');
    document.getElementById(`${notes.id}-err`).textContent = notesErr;
    const lineKey = Object.keys(errors).find((k) => k.startsWith('services'));
    const lineErr = lineKey ? `Dịch vụ: ${problemText(errors[lineKey], lineKey.endsWith('detail') ? 'service.detail' : 'service.provider')}` : '';
    formErr.textContent = !visitedAt ? 'Nhập thời gian thăm.'
      : errors.visited_at ? (when ? `Thời gian thăm: ${problemText(errors.visited_at)}.` : `Đồng hồ điện thoại đang sai (${problemText(errors.visited_at)}). Hãy chỉnh ngày giờ rồi lưu lại.`)
      : errors.location ? `Vị trí: ${problemText(errors.location, 'location')}` : lineErr;
    if (outcomeErr || consentErr.textContent || svcErr || fuErr || notesErr || formErr.textContent) {
      (outcomeErr ? outcomeBox.querySelector('input') : consentErr.textContent ? consent : svcErr ? checklist.node
        : fuErr ? followUp : notesErr ? notes : formErr).focus?.();
      return;
    }
    await saver.flush();
    await saver.stop();
    if (revising) {
      const saved = await outsideSync(() => saveVisitRevision(vid, data, draftKey));
      toast(saved ? savedMessage('Đã lưu bản sửa, sẽ gửi lên xã.') : 'Lượt thăm đã thay đổi trên máy, hãy mở lại.');
    } else if (editing) {
      // Never under a push in flight: the server keeps the first content it stores for a visit id.
      const saved = await outsideSync(() => saveVisitCorrection(vid, data, draftKey));
      toast(saved ? savedMessage('Đã lưu bản sửa.') : 'Lượt thăm đã được máy chủ nhận trước khi bạn sửa.');
    } else {
      await saveVisit({ id: v.id, data, photo: photo ? { id: photo.id, blob: photo.blob } : null }, [draftKey, photoKey]);
      toast(savedMessage('Đã lưu lượt thăm.'));
    }
    syncSoon();
    go(back.slice(1), { replace: true });
  }

  async function onCancel() {
    if (!confirm('Bỏ lượt thăm đang ghi?')) return;
    await saver.stop();
    await deleteDraft(draftKey);
    await deleteDraft(photoKey);
    go(back.slice(1), { replace: true });
  }

  fileInput.addEventListener('change', onPhoto);
  showPhoto();
  // Take a fix as the form opens: the member is at the door now, not when they press "Lưu".
  if (!v.location && !editing) gps.node.querySelector('#take-location')?.click();
  when?.addEventListener('change', () => {
    followUp.min = visitDay();
    followUp.max = addDays(visitDay(), currentRules().dates.follow_up_max_days);
  });

  const form = h('form', { novalidate: true, onSubmit, onInput: () => saver.schedule(), onChange: () => saver.schedule(), id: 'visit-form' },
    item ? itemNotice(item) : null,
    revising ? h('p', { class: 'card hint', id: 'revision-notice' }, `Lượt thăm này đã gửi lên máy chủ. Bản sửa sẽ được gửi lên máy chủ (bản thứ ${(editing.revision || 1) + 1}); xã sẽ thấy lượt thăm đã được sửa.`) : null,
    fromLines?.dropped && !draft ? h('p', { class: 'hint' }, `Đã bỏ ${fromLines.dropped} dịch vụ của người không còn trong hộ.`) : null,
    when ? field('Thời gian thăm', when, { required: true, hint: 'Giờ thực tế của lượt thăm (sửa nếu đồng hồ điện thoại đã sai).' }) : null,
    outcomeBox,
    keepOpen.node,
    h('h2', {}, 'Dịch vụ đã hỗ trợ'),
    checklist.node,
    field('Ghi chú', notes),
    field('Hẹn thăm lại ngày', followUp, { hint: 'Không bắt buộc' }),
    gps.node,
    editing ? (editing.has_photo ? h('p', { class: 'hint' }, 'Ảnh đã chụp được giữ nguyên.') : null) : h('div', { class: 'field' },
      h('span', { class: 'legend' }, 'Ảnh (không bắt buộc)'),
      photoBox,
      fileInput, photoButton,
      h('label', { class: 'check', for: 'photo-consent' }, consent, 'Người dân đồng ý cho chụp và lưu ảnh'),
      consentErr),
    notice.node,
    formErr,
    h('div', { class: 'actions sticky-actions' },
      button('Huỷ', onCancel, { class: 'btn danger' }),
      h('button', { type: 'submit', class: 'btn primary', id: 'save-visit' }, 'Lưu lượt thăm')));

  return {
    node: h('section', {}, screenTitle(revising ? `Sửa lượt thăm đã gửi — ${hh.head_name}` : editing ? `Sửa lượt thăm — ${hh.head_name}` : `Ghi nhận lượt thăm — ${hh.head_name}`, back), form),
    keepOnRefresh: true,
    cleanup: () => saver.flush().then(() => saver.stop()),
  };
}

/** An ISO time as a datetime-local input's value, in the phone's time zone ("2025-10-05T09:12"). */
function localInput(iso) {
  const ms = Date.parse(iso || '');
  return Number.isNaN(ms) ? '' : nowIso(new Date(ms)).slice(0, 16);
}

/** A datetime-local value back to ISO with the phone's offset, or null when empty or invalid. */
function fromLocalInput(value) {
  const d = new Date(value || '');
  return Number.isNaN(d.getTime()) ? null : nowIso(d);
}

/**
 * The household's open follow-ups, each ticked "settled by this visit" (the server's default for a
 * reaching visit); the member unticks one the visit was not about, which goes in `keep_open`.
 * Shown only while the chosen outcome is one that settles follow-ups.
 */
function openFollowups(open, kept, outcomeBox) {
  if (!open.length) return { node: null, get: () => [] };
  const boxes = open.map((f) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'settles', value: f.visit_id, checked: !kept.includes(f.visit_id) }),
    `Hẹn ngày ${formatDate(f.due_on)}${f.note ? `: ${f.note}` : ''}`));
  const node = h('fieldset', { class: 'card', id: 'open-followups' },
    h('legend', { class: 'legend' }, 'Lượt hẹn thăm lại đang mở'),
    h('p', { class: 'hint' }, 'Đánh dấu lượt hẹn mà lượt thăm này đã giải quyết. Bỏ đánh dấu nếu lần này đến vì việc khác: lượt hẹn vẫn mở.'),
    boxes);
  const show = () => { node.hidden = !REACHED.has(outcomeBox.querySelector('input:checked')?.value); };
  outcomeBox.addEventListener('change', show);
  show();
  return { node, get: () => boxes.map((l) => l.querySelector('input')).filter((i) => !i.checked).map((i) => i.value) };
}
