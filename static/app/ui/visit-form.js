// Record a visit: outcome, services per resident, notes, follow-up date, GPS, optional photo with
// consent. Everything typed is kept as a draft; the photo is downscaled and kept as its own draft.
import { deleteDraft, draftSaver, loadDraft } from '../drafts.js';
import { write } from '../db.js';
import { nowIso, today, uuid } from '../ids.js';
import { OUTCOMES } from '../labels.js';
import { downscale } from '../photos.js';
import { household, residentsOf, saveVisit, services as loadServices } from '../records.js';
import { addDays, checkVisit, currentRules } from '../rules.js';
import { syncSoon } from '../scheduler.js';
import { h, field, screenTitle, button, toast } from './dom.js';
import { go } from './router.js';
import { serviceChecklist } from './visit-services.js';
import { draftNotice, locationPicker, problemText } from './widgets.js';

/** Route '/household/:id/visit'. */
export async function visitFormScreen({ id: householdId }) {
  const hh = await household(householdId);
  if (!hh) return h('section', {}, screenTitle('Không tìm thấy hộ', '#/'));
  const draftKey = `visit:${householdId}`;
  const photoKey = `${draftKey}:photo`;
  const [draft, photoDraft, residents, catalogue] = await Promise.all([
    loadDraft(draftKey), loadDraft(photoKey), residentsOf(householdId), loadServices()]);
  const v = draft?.value || { id: uuid(), outcome: '', notes: '', follow_up_on: '', consent: false, services: {} };
  let photo = photoDraft?.value || null; // {id, blob, width, height}
  const back = `#/household/${householdId}`;

  const notice = draftNotice(draft?.saved_at);
  const saver = draftSaver(draftKey, () => collectDraft(), notice.saved);
  const outcomeBox = h('fieldset', { class: 'choices', id: 'outcome' }, h('legend', {}, 'Kết quả lượt thăm ', h('span', { class: 'req' }, '*')),
    currentRules().vocab.outcomes.map((code) => [code, OUTCOMES[code] || code]).map(([code, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'outcome', value: code, checked: v.outcome === code }), label)),
    h('p', { class: 'error', id: 'outcome-err', role: 'alert' }));
  const checklist = serviceChecklist(catalogue, residents, v.services, () => saver.schedule());
  const notes = h('textarea', { name: 'notes', rows: '3' }, v.notes || '');
  const followUp = h('input', { name: 'follow_up_on', type: 'date', min: today(), max: addDays(today(), currentRules().dates.follow_up_max_days), value: v.follow_up_on || '' });
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
      id: v.id,
      outcome: outcomeBox.querySelector('input:checked')?.value || '',
      notes: notes.value,
      follow_up_on: followUp.value,
      location: gps.get(),
      consent: consent.checked,
      services: checklist.state(),
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
    const { data, errors } = checkVisit({
      household_id: householdId,
      visited_at: nowIso(),
      location: d.location,
      outcome: d.outcome,
      notes: d.notes,
      services: checklist.lines(),
      follow_up_on: d.follow_up_on || null,
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
    formErr.textContent = errors.visited_at ? `Đồng hồ điện thoại đang sai (${problemText(errors.visited_at)}). Hãy chỉnh ngày giờ rồi lưu lại.`
      : errors.location ? `Vị trí: ${problemText(errors.location, 'location')}` : lineErr;
    if (outcomeErr || consentErr.textContent || svcErr || fuErr || notesErr || formErr.textContent) {
      (outcomeErr ? outcomeBox.querySelector('input') : consentErr.textContent ? consent : svcErr ? checklist.node
        : fuErr ? followUp : notesErr ? notes : formErr).focus?.();
      return;
    }
    await saver.flush();
    await saver.stop();
    await saveVisit({ id: v.id, data, photo: photo ? { id: photo.id, blob: photo.blob } : null }, [draftKey, photoKey]);
    toast('Đã lưu lượt thăm. Sẽ gửi khi có mạng.');
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
  if (!v.location) gps.node.querySelector('#take-location')?.click();

  const form = h('form', { novalidate: true, onSubmit, onInput: () => saver.schedule(), onChange: () => saver.schedule(), id: 'visit-form' },
    outcomeBox,
    h('h2', {}, 'Dịch vụ đã hỗ trợ'),
    checklist.node,
    field('Ghi chú', notes),
    field('Hẹn thăm lại ngày', followUp, { hint: 'Không bắt buộc' }),
    gps.node,
    h('div', { class: 'field' },
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
    node: h('section', {}, screenTitle(`Ghi nhận lượt thăm — ${hh.head_name}`, back), form),
    keepOnRefresh: true,
    cleanup: () => saver.flush().then(() => saver.stop()),
  };
}
