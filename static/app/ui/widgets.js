// Form pieces shared by the household and visit forms.
import { currentLocation, formatLocation } from '../geo.js';
import { CODES, formatTime } from '../labels.js';
import { bounds, checkLocation, currentRules } from '../rules.js';
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
      const fix = await currentLocation();
      // A fix the server would refuse (e.g. a city-wide "position" from the network) is not kept.
      const bad = checkLocation(fix);
      if (Object.keys(bad).length) throw new Error(`Vị trí quá kém chính xác (sai số ${Math.round(fix.accuracy_m / 1000)} km), thử lại ở chỗ thoáng`);
      value = fix;
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
  return {
    node,
    get: () => value,
    /** Show why the stored position cannot be sent (from the form's check). */
    showError(message) { text.textContent = `${formatLocation(value)} — ${message}`; },
  };
}

/**
 * The toast after a save: it is queued either way, and only offline does the member need telling
 * that it waits for a network (online, the sync starts at once).
 */
export function savedMessage(text) {
  return navigator.onLine ? text : `${text} Sẽ gửi khi có mạng.`;
}

/** "Bản nháp đã lưu lúc …" line that the autosave keeps current, so the member trusts it. */
export function draftNotice(savedAt) {
  const node = h('p', { class: 'hint draft-status', 'aria-live': 'polite' }, savedAt ? `Đã khôi phục bản nháp lưu lúc ${formatTime(savedAt)}.` : 'Bản nháp được lưu tự động trên máy.');
  return { node, saved() { node.textContent = `Đã lưu nháp lúc ${formatTime(new Date().toISOString())}.`; } };
}

/** Read a whole-number input; '' → null, anything else that is not a whole number → NaN. */
export function intOrNull(input) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : Number.NaN;
}

/** `min`/`max` attributes of a number input from the rules (`key` of rules.numbers). */
export function rangeAttrs(key) {
  const { min, max } = bounds(key);
  return { min: min == null ? null : String(min), max: max == null ? null : String(max) };
}

/**
 * A code of rules.js's checks as a Vietnamese message under a form field; `rule` is the rules key
 * ('household.head_name', 'resident.birth_year') for the limits, `custom` overrides per code.
 */
export function problemText(code, rule, custom = {}) {
  if (!code) return '';
  if (custom[code]) return custom[code];
  const r = currentRules();
  if (code === 'too_long' && r.text[rule]) return `${CODES.too_long}: tối đa ${r.text[rule].max} ký tự`;
  if (code === 'out_of_range' && r.numbers[rule]) {
    const { min, max } = bounds(rule);
    return `Phải từ ${min} đến ${max}`;
  }
  if (code === 'wrong_type' && r.numbers[rule]) return 'Nhập một số nguyên';
  if (code === 'bad_characters') return `${CODES.bad_characters}: hãy xoá rồi gõ lại`;
  return CODES[code] || CODES.invalid;
}
