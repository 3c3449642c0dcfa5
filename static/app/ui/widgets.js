// Form pieces shared by the household and visit forms.
import { currentLocation, formatLocation } from '../geo.js';
import { formatTime } from '../labels.js';
import { h, button } from './dom.js';

/**
 * GPS capture: a button and the fix with its accuracy. `get()` returns `{lat, lon, accuracy_m}` or null;
 * `onChange` lets the form save its draft.
 */
export function locationPicker(initial, onChange, label = 'Vị trí GPS') {
  let value = initial || null;
  const text = h('p', { class: 'loc-text', 'aria-live': 'polite' }, formatLocation(value));
  const take = button('Lấy vị trí hiện tại', async () => {
    take.disabled = true;
    text.textContent = 'Đang lấy vị trí…';
    try {
      value = await currentLocation();
      text.textContent = formatLocation(value);
      if (value.accuracy_m > 100) text.textContent += ' — sai số lớn, thử lại ở chỗ thoáng';
      onChange();
    } catch (err) {
      text.textContent = `${err.message}. ${formatLocation(value)}`;
    } finally {
      take.disabled = false;
    }
  }, { id: 'take-location' });
  const clear = button('Xoá', () => { value = null; text.textContent = formatLocation(null); onChange(); }, { class: 'btn danger' });
  const node = h('div', { class: 'field' }, h('span', { class: 'legend' }, label), text, h('div', { class: 'actions' }, take, clear));
  return { node, get: () => value };
}

/** "Bản nháp đã lưu lúc …" line that the autosave keeps current, so the member trusts it. */
export function draftNotice(savedAt) {
  const node = h('p', { class: 'hint draft-status', 'aria-live': 'polite' }, savedAt ? `Đã khôi phục bản nháp lưu lúc ${formatTime(savedAt)}.` : 'Bản nháp được lưu tự động trên máy.');
  return { node, saved() { node.textContent = `Đã lưu nháp lúc ${formatTime(new Date().toISOString())}.`; } };
}

/** Read an integer input; '' → null. */
export function intOrNull(input) {
  const v = input.value.trim();
  return v === '' ? null : Number.parseInt(v, 10);
}

/** Loose Vietnamese phone check (the server validates properly with libphonenumber). */
export function phoneLooksValid(value) {
  const v = value.replace(/[\s.-]/g, '');
  return v === '' || /^(\+84|0)\d{9,10}$/.test(v);
}
