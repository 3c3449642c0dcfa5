// Add or edit a resident, with consent per purpose and its withdrawal (the server then anonymises).
import { deleteDraft, draftSaver, loadDraft } from '../drafts.js';
import { nowIso, uuid } from '../ids.js';
import { PURPOSES, SEX, displayPhone } from '../labels.js';
import { itemFor } from '../outbox.js';
import { household, resident, saveResident } from '../records.js';
import { refused } from './household.js';
import { checkResident, currentRules } from '../rules.js';
import { syncSoon } from '../scheduler.js';
import { h, field, setFieldError, screenTitle, button, toast } from './dom.js';
import { go } from './router.js';
import { itemNotice } from './sync-items.js';
import { draftNotice, intOrNull, problemText, rangeAttrs, savedMessage } from './widgets.js';

/** Route '/household/:hid/resident/new' and '/resident/:id/edit'. */
export async function residentFormScreen({ id, hid }) {
  const isNew = !id;
  const existing = isNew ? null : await resident(id);
  if (!isNew && !existing) return h('section', {}, screenTitle('Không tìm thấy nhân khẩu', '#/'));
  const householdId = isNew ? hid : existing.household_id;
  const hh = await household(householdId);
  const draftKey = isNew ? `resident:new:${householdId}` : `resident:${id}`;
  const draft = await loadDraft(draftKey);
  const v = draft?.value || existing || { id: uuid(), household_id: householdId, consent: { given: false, purposes: [] } };
  const recordId = v.id;
  const back = `#/household/${householdId}`;
  // Refused from the start: recorded without name or phone (birth year and sex only), so the help
  // given to the person still counts. The server stores such a resident anonymised (docs/pwa.md).
  const refusedBefore = existing ? refused(existing) : false;
  const withdrawn = existing?.consent && existing.consent.given === false && !refusedBefore;
  // Refused, in conflict or set aside: the reasons stay in view while the member corrects.
  const waiting = isNew ? null : itemNotice((await itemFor(id)).find((i) => i.type === 'resident'));

  const inputs = {
    full_name: h('input', { name: 'full_name', autocomplete: 'off', value: v.full_name || '' }),
    birth_year: h('input', { name: 'birth_year', type: 'number', inputmode: 'numeric', ...rangeAttrs('resident.birth_year'), value: v.birth_year ?? '' }),
    phone: h('input', { name: 'phone', type: 'tel', inputmode: 'tel', value: displayPhone(v.phone) || '' }),
    consent: h('input', { type: 'checkbox', name: 'consent_given', id: 'consent-given', checked: Boolean(v.consent?.given) }),
    refused: h('input', { type: 'checkbox', name: 'consent_refused', id: 'consent-refused', checked: Boolean(v.refused ?? refusedBefore) }),
  };
  const sexBox = h('fieldset', { class: 'choices', id: 'sex' }, h('legend', {}, 'Giới tính ', h('span', { class: 'req' }, '*')),
    currentRules().vocab.sexes.map((code) => [code, SEX[code] || code]).map(([code, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'sex', value: code, checked: v.sex === code }), label)),
    h('p', { class: 'error', id: 'sex-err', role: 'alert' }));
  const purposeBoxes = currentRules().vocab.consent_purposes.map((code) => [code, PURPOSES[code] || code]).map(([code, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'purpose', value: code, checked: (v.consent?.purposes || []).includes(code) }), label));
  const consentErr = h('p', { class: 'error', role: 'alert' });
  const notice = draftNotice(draft?.saved_at);
  const saver = draftSaver(draftKey, () => ({ ...collect(), id: recordId }), notice.saved);

  function collect() {
    if (inputs.refused.checked) {
      const before = existing?.consent;
      return {
        household_id: householdId,
        full_name: null,
        birth_year: intOrNull(inputs.birth_year),
        sex: sexBox.querySelector('input:checked')?.value || null,
        phone: null,
        consent: { given: false, purposes: [], at: refusedBefore && before?.at ? before.at : nowIso() },
        refused: true,
      };
    }
    const given = inputs.consent.checked;
    const purposes = purposeBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    const before = existing?.consent;
    const same = before && before.given === given && JSON.stringify(before.purposes || []) === JSON.stringify(purposes);
    return {
      household_id: householdId,
      full_name: inputs.full_name.value.trim(),
      birth_year: intOrNull(inputs.birth_year),
      sex: sexBox.querySelector('input:checked')?.value || null,
      phone: inputs.phone.value.trim() || null,
      // The time of consent is when the member recorded it, so it changes only when consent changes.
      consent: { given, purposes: given ? purposes : [], at: same && before.at ? before.at : nowIso() },
    };
  }

  /** The server's rules (rules.js) plus consent; returns the data as it will be sent, or null. */
  function validate(raw) {
    if (raw.refused) return validateRefused(raw);
    const { data, errors } = checkResident(raw);
    const messages = {
      full_name: problemText(errors.full_name, 'resident.full_name', { required: 'Nhập họ và tên' }),
      birth_year: problemText(errors.birth_year, 'resident.birth_year', { required: 'Nhập năm sinh' }),
      phone: problemText(errors.phone, 'phone', { invalid_phone: 'Số điện thoại không hợp lệ (ví dụ 0912345678)' }),
    };
    for (const [name, msg] of Object.entries(messages)) setFieldError(inputs[name], msg);
    sexBox.querySelector('#sex-err').textContent = errors.sex ? 'Chọn giới tính' : '';
    consentErr.textContent = errors['consent.at'] ? `${problemText(errors['consent.at'])}.`
      : data.consent.given && data.consent.purposes.length ? ''
        : 'Cần người dân đồng ý (và chọn mục đích) trước khi lưu thông tin cá nhân.';
    const first = Object.keys(messages).find((k) => messages[k]);
    if (first) inputs[first].focus();
    return !first && !errors.sex && !consentErr.textContent ? data : null;
  }

  /** Birth year and sex only; what is sent is exactly what the server stores (no name, no phone). */
  function validateRefused(raw) {
    const { refused: _r, ...rest } = raw;
    const { data, errors } = checkResident(rest);
    const yearMsg = problemText(errors.birth_year, 'resident.birth_year', { required: 'Nhập năm sinh' });
    setFieldError(inputs.birth_year, yearMsg);
    sexBox.querySelector('#sex-err').textContent = errors.sex ? 'Chọn giới tính' : '';
    consentErr.textContent = errors['consent.at'] ? `${problemText(errors['consent.at'])}.` : '';
    if (yearMsg) inputs.birth_year.focus();
    if (yearMsg || errors.sex || consentErr.textContent) return null;
    return { ...data, full_name: null, phone: null };
  }

  async function finish(data, message) {
    await saver.flush();
    await saver.stop();
    await saveResident(recordId, data, draftKey);
    toast(savedMessage(message));
    syncSoon();
    go(back.slice(1), { replace: true });
  }

  async function onSubmit(event) {
    event.preventDefault();
    const raw = collect();
    const data = validate(raw);
    if (data) await finish(data, raw.refused ? 'Đã lưu người không đồng ý (không có họ tên, số điện thoại).' : 'Đã lưu nhân khẩu.');
  }

  async function onWithdraw() {
    if (!confirm('Người dân rút lại đồng ý? Họ tên và số điện thoại sẽ bị xoá trên máy chủ (vẫn giữ năm sinh, giới tính để thống kê).')) return;
    // Only the API's consent fields travel; the server records when the withdrawal arrived.
    const data = { ...collect(), consent: { given: false, purposes: [], at: nowIso() } };
    await finish(data, 'Đã ghi nhận rút lại đồng ý.');
  }

  async function onCancel() {
    if (!confirm('Bỏ các thay đổi đang nhập?')) return;
    await saver.stop();
    await deleteDraft(draftKey);
    go(back.slice(1), { replace: true });
  }

  // Name, phone and consent purposes exist only for a person who agreed.
  const nameField = field('Họ và tên', inputs.full_name, { required: true });
  const phoneField = field('Số điện thoại', inputs.phone, { hint: 'Không bắt buộc' });
  const refusedHint = h('p', { class: 'hint', id: 'refused-hint' }, 'Không ghi họ tên, số điện thoại. Chỉ ghi năm sinh, giới tính để thống kê; vẫn ghi được dịch vụ đã hỗ trợ người này.');
  const consentBox = h('fieldset', { class: 'card' },
      h('legend', { class: 'legend' }, 'Sự đồng ý của người dân'),
      withdrawn ? h('p', { class: 'tag' }, 'Người này đã rút lại đồng ý') : null,
      h('label', { class: 'check', for: 'consent-given' }, inputs.consent, 'Người dân đồng ý cho Tổ lưu thông tin cá nhân'),
      h('p', { class: 'hint' }, 'Cho các mục đích:'),
      purposeBoxes,
      consentErr,
      existing?.consent?.given ? button('Rút lại đồng ý', onWithdraw, { class: 'btn danger', id: 'withdraw-consent' }) : null);
  const showMode = () => {
    const off = inputs.refused.checked;
    nameField.hidden = off;
    phoneField.hidden = off;
    consentBox.hidden = off;
    refusedHint.hidden = !off;
  };
  inputs.refused.addEventListener('change', showMode);
  showMode();
  // Offered for a new person, and for one recorded that way (who may agree later); not as a way
  // to withdraw (that is "Rút lại đồng ý", which also erases copies of the name).
  const refuseChoice = isNew || refusedBefore ? h('div', { class: 'card refuse-choice' },
    h('label', { class: 'check', for: 'consent-refused' }, inputs.refused, 'Người dân không đồng ý cung cấp thông tin'),
    refusedHint) : null;

  const form = h('form', { novalidate: true, onSubmit, onInput: () => saver.schedule(), onChange: () => saver.schedule(), id: 'resident-form' },
    waiting,
    refuseChoice,
    nameField,
    field('Năm sinh', inputs.birth_year, { required: true }),
    sexBox,
    phoneField,
    consentBox,
    notice.node,
    h('div', { class: 'actions sticky-actions' },
      button('Huỷ', onCancel, { class: 'btn danger' }),
      h('button', { type: 'submit', class: 'btn primary', id: 'save-resident' }, 'Lưu nhân khẩu')));

  return {
    node: h('section', {}, screenTitle(isNew ? `Thêm nhân khẩu — ${hh?.head_name || ''}` : `Sửa nhân khẩu — hộ ${hh?.head_name || ''}`, back), form),
    keepOnRefresh: true,
    cleanup: () => saver.flush().then(() => saver.stop()),
  };
}
