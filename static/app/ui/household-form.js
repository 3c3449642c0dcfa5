// Register a new household or edit one. Saved to the outbox; the draft is kept as the member types.
import { deleteDraft, draftSaver, loadDraft } from '../drafts.js';
import { uuid } from '../ids.js';
import { displayPhone } from '../labels.js';
import { itemFor } from '../outbox.js';
import { hamlets, household, saveHousehold } from '../records.js';
import { checkHousehold } from '../rules.js';
import { syncSoon } from '../scheduler.js';
import { h, field, select, setFieldError, screenTitle, button, toast } from './dom.js';
import { go } from './router.js';
import { itemNotice } from './sync-items.js';
import { draftNotice, intOrNull, locationPicker, problemText, rangeAttrs, savedMessage } from './widgets.js';

/** Route '/hamlet/:hid/new-household' (new) and '/household/:id/edit'. */
export async function householdFormScreen({ id, hid }) {
  const isNew = !id;
  const draftKey = isNew ? `household:new:${hid}` : `household:${id}`;
  const draft = await loadDraft(draftKey);
  const existing = isNew ? null : await household(id);
  if (!isNew && !existing) return h('section', {}, screenTitle('Không tìm thấy hộ', '#/'));
  const v = draft?.value || (existing ? { ...existing } : { id: uuid(), hamlet_id: Number(hid) });
  const recordId = v.id;
  const back = isNew ? `#/hamlet/${hid}` : `#/household/${id}`;

  const hamletOptions = (await hamlets()).map((hm) => [hm.id, hm.name]);
  // Refused, in conflict or set aside: the reasons stay in view while the member corrects.
  const item = isNew ? null : (await itemFor(id)).find((i) => i.type === 'household');
  const waiting = itemNotice(item, Object.fromEntries(hamletOptions));
  const inputs = {
    hamlet_id: select('hamlet_id', hamletOptions, v.hamlet_id),
    head_name: h('input', { name: 'head_name', autocomplete: 'off', value: v.head_name || '' }),
    address: h('input', { name: 'address', autocomplete: 'off', value: v.address || '', placeholder: 'Ví dụ: Tổ 3, ấp Bảo Định' }),
    members_count: h('input', { name: 'members_count', type: 'number', inputmode: 'numeric', ...rangeAttrs('household.members_count'), value: v.members_count ?? '' }),
    adults_count: h('input', { name: 'adults_count', type: 'number', inputmode: 'numeric', ...rangeAttrs('household.adults_count'), value: v.adults_count ?? '' }),
    phone: h('input', { name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'off', value: displayPhone(v.phone) || '' }),
  };
  const notice = draftNotice(draft?.saved_at);
  const saver = draftSaver(draftKey, () => ({ ...collect(), id: recordId }), notice.saved);
  const gps = locationPicker(v.location, () => saver.schedule(), 'Vị trí của hộ (GPS)');

  function collect() {
    return {
      hamlet_id: Number(inputs.hamlet_id.value),
      address: inputs.address.value.trim(),
      head_name: inputs.head_name.value.trim(),
      members_count: intOrNull(inputs.members_count),
      adults_count: intOrNull(inputs.adults_count),
      phone: inputs.phone.value.trim() || null,
      location: gps.get(),
    };
  }

  /**
   * The server's rules (rules.js, as last fetched): the record saved is one the server accepts.
   * Returns the data as it will be sent (names NFC-normalised, spaces tidied), or null.
   */
  function validate(raw) {
    const { data, errors } = checkHousehold(raw);
    const messages = {
      head_name: problemText(errors.head_name, 'household.head_name', { required: 'Nhập họ tên chủ hộ' }),
      address: problemText(errors.address, 'household.address', { required: 'Nhập địa chỉ' }),
      members_count: problemText(errors.members_count, 'household.members_count', { required: 'Nhập số nhân khẩu' }),
      adults_count: problemText(errors.adults_count, 'household.adults_count', { required: 'Nhập số người lớn', exceeds_members: 'Không thể lớn hơn số nhân khẩu' }),
      phone: problemText(errors.phone, 'phone', { invalid_phone: 'Số điện thoại không hợp lệ (ví dụ 0912345678)' }),
    };
    for (const [name, msg] of Object.entries(messages)) setFieldError(inputs[name], msg);
    if (errors.location) gps.showError(problemText(errors.location, 'location'));
    const first = Object.keys(messages).find((k) => messages[k]);
    if (first) inputs[first].focus();
    return first || errors.location ? null : data;
  }

  async function onSubmit(event) {
    event.preventDefault();
    const data = validate(collect());
    if (!data) return;
    // Draft first, then the save deletes it in the same transaction that queues the record: at no
    // moment is the work in neither place. (No draft write may land after that delete.)
    await saver.flush();
    await saver.stop();
    await saveHousehold(recordId, data, draftKey);
    toast(savedMessage(isNew ? 'Đã lưu hộ mới.' : 'Đã lưu thay đổi.'));
    syncSoon();
    go(`/household/${recordId}`, { replace: true });
  }

  async function onCancel() {
    if (!confirm('Bỏ các thay đổi đang nhập?')) return;
    await saver.stop();
    await deleteDraft(draftKey);
    go(back.slice(1), { replace: true });
  }

  const form = h('form', { novalidate: true, onSubmit, onInput: () => saver.schedule(), onChange: () => saver.schedule(), id: 'household-form' },
    waiting,
    field('Ấp/khu phố', inputs.hamlet_id, { required: true }),
    field('Họ tên chủ hộ', inputs.head_name, { required: true }),
    field('Địa chỉ', inputs.address, { required: true }),
    h('div', { class: 'row2' },
      field('Số nhân khẩu', inputs.members_count, { required: true }),
      field('Số người lớn (từ 18 tuổi)', inputs.adults_count, { required: true })),
    field('Số điện thoại', inputs.phone, { hint: 'Không bắt buộc' }),
    gps.node,
    notice.node,
    h('div', { class: 'actions sticky-actions' },
      button('Huỷ', onCancel, { class: 'btn danger' }),
      h('button', { type: 'submit', class: 'btn primary', id: 'save-household' }, 'Lưu hộ')));

  return {
    node: h('section', {}, screenTitle(isNew ? 'Đăng ký hộ gia đình' : `Sửa thông tin hộ — ${existing.head_name || ''}`, back), form),
    keepOnRefresh: true,
    cleanup: () => saver.flush().then(() => saver.stop()),
  };
}
