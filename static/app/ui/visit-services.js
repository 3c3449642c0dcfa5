// The services of a visit, built around what was actually given: the member picks a service
// ("Thêm dịch vụ"), ticks the people who got it and, per person, the result (ticked = "Đã hỗ trợ
// xong" until another result is tapped). Only the services picked are on screen, so a 5-person
// household costs a few taps, not 55 dropdowns. A provider (CKS) and the "Khác" text are asked
// once per service and apply to everyone ticked.
import { RESULTS, SEX } from '../labels.js';
import { h, uid } from './dom.js';

const HOUSEHOLD = 'hh';
// A provider matters when a signature exists or is being issued, not when the person declined.
const NEEDS_PROVIDER = new Set(['done', 'in_progress', 'already_had']);
const DEFAULT_RESULT = 'done';

/** How a resident is named on the form; one who refused consent has no name on the phone. */
export function personLabel(r) {
  if (r.full_name) return `${r.full_name}${r.birth_year ? ` (${r.birth_year})` : ''}`;
  const facts = [SEX[r.sex], r.birth_year ? `sinh ${r.birth_year}` : null].filter(Boolean).join(', ');
  return `Người không đồng ý${facts ? ` (${facts})` : ''}`;
}

/**
 * A stored visit's `services` lines as the form's state (to correct the visit). Lines for a
 * person no longer in the household are left out (`dropped` says how many): the server would
 * refuse them (`not_household_member`).
 */
export function stateFromLines(lines, residents) {
  const known = new Set(residents.map((r) => r.id));
  const state = {};
  let dropped = 0;
  for (const line of lines || []) {
    if (line.resident_id && !known.has(line.resident_id)) { dropped += 1; continue; }
    state[`${line.resident_id || HOUSEHOLD}|${line.code}`] = { result: line.result, provider: line.provider || null, detail: line.detail || null };
  }
  return { state, dropped };
}

/**
 * Build the services part of the visit form. `initial` maps `"<residentId|hh>|<code>"` →
 * `{result, provider, detail}` (a draft, or a stored visit's lines). Returns
 * `{node, state(), lines(), validate()}`; `onChange` is called on every change.
 */
export function serviceChecklist(services, residents, initial, onChange) {
  const state = { ...(initial || {}) };
  const byCode = new Map(services.map((s) => [s.code, s]));
  const cards = new Map(); // code -> {node, refresh}
  const cardBox = h('div', { id: 'svc-cards' });
  const errorBox = h('p', { class: 'error', role: 'alert' });
  const pickerList = h('div', { class: 'svc-picker-list' });
  const picker = h('details', { class: 'svc-picker', id: 'svc-picker' },
    h('summary', { class: 'btn block' }, '+ Thêm dịch vụ đã hỗ trợ'), pickerList);
  const empty = h('p', { class: 'hint', id: 'svc-empty' }, 'Chưa ghi dịch vụ nào. Chọn dịch vụ đã hỗ trợ, rồi đánh dấu người được hỗ trợ.');

  const changed = () => { renderPicker(); onChange(); };

  function renderPicker() {
    pickerList.replaceChildren(...services.filter((s) => !cards.has(s.code)).map((s) => h('button', {
      type: 'button', class: 'svc-add', dataset: { code: s.code },
      onClick: () => { addCard(s, true); picker.open = false; changed(); cards.get(s.code).focus(); },
    }, s.label || s.code)));
    empty.hidden = cards.size > 0;
  }

  function addCard(service, fresh) {
    const card = serviceCard(service, fresh);
    cards.set(service.code, card);
    cardBox.append(card.node);
  }

  function serviceCard(service, fresh) {
    const code = service.code;
    const forHousehold = service.unit === 'household';
    const who = forHousehold ? [{ id: HOUSEHOLD, label: 'Cả hộ' }] : residents.map((r) => ({ id: r.id, label: personLabel(r) }));
    const lineOf = (id) => state[`${id}|${code}`];
    const first = who.map((p) => lineOf(p.id)).find(Boolean) || {};
    const providers = service.providers || [];
    const providerId = uid('prov');
    const provider = providers.length ? h('select', { id: providerId, name: 'provider', class: 'svc-provider' },
      [['', '— Chọn nhà cung cấp —'], ...providers.map((p) => [p, p])].map(([v, l]) => h('option', { value: v, selected: (first.provider || '') === v }, l))) : null;
    const providerField = provider ? h('div', { class: 'svc-extra' }, h('label', { for: providerId }, `Nhà cung cấp ${code}`), provider) : null;
    // "Khác" is free text: what was done goes in the lines' `detail`.
    const detailId = uid('detail');
    // No maxlength: it counts UTF-16 units before normalisation; the form checks the rules' limit.
    const detail = code === 'KHAC' ? h('input', { id: detailId, name: 'detail', value: first.detail || '' }) : null;
    const detailField = detail ? h('div', { class: 'svc-extra' }, h('label', { for: detailId }, 'Nội dung hỗ trợ'), detail) : null;
    const extras = () => ({ provider: provider?.value || null, detail: detail?.value.trim() || null });

    const count = h('span', { class: 'tag' });
    const rows = who.map((p) => personRow(p));
    // A freshly picked service for a household (or a one-person one) is ticked at once.
    if (fresh && who.length === 1) rows[0].tick(true);

    function personRow(p) {
      const key = `${p.id}|${code}`;
      const boxId = uid('who');
      const box = h('input', { type: 'checkbox', id: boxId, class: 'svc-who', checked: Boolean(state[key]) });
      const name = uid('res');
      const chips = h('div', { class: 'svc-results', role: 'radiogroup', 'aria-label': `Kết quả — ${p.label}` },
        Object.entries(RESULTS).map(([value, label]) => h('label', { class: 'chip' },
          h('input', { type: 'radio', name, value, checked: state[key]?.result === value }), label)));
      const row = h('div', { class: 'svc-row', dataset: { who: p.id } }, h('label', { class: 'check', for: boxId }, box, p.label), chips);
      const show = () => { chips.hidden = !box.checked; row.classList.toggle('on', box.checked); };
      const tick = (on) => {
        box.checked = on;
        if (on) {
          const picked = chips.querySelector('input:checked')?.value;
          if (!picked) chips.querySelector(`input[value="${DEFAULT_RESULT}"]`).checked = true;
          state[key] = { result: chips.querySelector('input:checked').value, ...extras() };
        } else {
          delete state[key];
          chips.querySelectorAll('input').forEach((i) => { i.checked = false; });
        }
        show();
        refresh();
      };
      box.addEventListener('change', () => { tick(box.checked); changed(); });
      chips.addEventListener('change', () => { state[key] = { result: chips.querySelector('input:checked').value, ...extras() }; refresh(); changed(); });
      show();
      return { node: row, tick };
    }

    function refresh() {
      const mine = who.map((p) => state[`${p.id}|${code}`]).filter(Boolean);
      for (const line of mine) Object.assign(line, extras());
      if (providerField) providerField.hidden = !mine.some((l) => NEEDS_PROVIDER.has(l.result));
      if (detailField) detailField.hidden = !mine.length;
      count.textContent = mine.length ? (forHousehold ? 'đã chọn' : `${mine.length} người`) : 'chưa chọn ai';
      count.className = mine.length ? 'tag ok' : 'tag';
    }

    function remove() {
      for (const p of who) delete state[`${p.id}|${code}`];
      node.remove();
      cards.delete(code);
      changed();
    }

    const title = h('h3', { class: 'svc-title', tabindex: '-1' }, service.label || code);
    provider?.addEventListener('change', () => { refresh(); onChange(); });
    detail?.addEventListener('input', () => { refresh(); onChange(); });
    const node = h('section', { class: 'svc-card', dataset: { code } },
      h('div', { class: 'svc-head' }, title, h('button', { type: 'button', class: 'btn small danger svc-remove', 'aria-label': `Bỏ dịch vụ ${service.label || code}`, onClick: remove }, 'Bỏ')),
      count,
      who.length ? rows.map((r) => r.node) : h('p', { class: 'hint' }, 'Hộ chưa có nhân khẩu: hãy thêm nhân khẩu để ghi dịch vụ cho từng người.'),
      providerField, detailField);
    refresh();
    return { node, focus: () => title.focus() };
  }

  // A draft or a stored visit: its services, in the catalogue's order.
  const touched = new Set(Object.keys(state).map((k) => k.split('|')[1]));
  for (const s of services) if (touched.has(s.code)) addCard(s, false);
  // A line whose service left the catalogue stays in the state (the server judges it) but has no card.
  renderPicker();
  picker.open = cards.size === 0;

  const node = h('div', { id: 'service-checklist' }, empty, cardBox, picker, errorBox);

  return {
    node,
    state: () => ({ ...state }),
    /** The visit's `services` lines in the API shape. */
    lines() {
      return Object.entries(state).filter(([, v]) => v.result).map(([key, v]) => {
        const [who, code] = key.split('|');
        const line = { code, resident_id: who === HOUSEHOLD ? null : who, result: v.result };
        if (v.provider && NEEDS_PROVIDER.has(v.result)) line.provider = v.provider;
        if (v.detail) line.detail = v.detail;
        return line;
      });
    },
    /** Vietnamese message for the first problem, or ''. */
    validate() {
      const missing = Object.entries(state).find(([key, v]) => {
        const service = byCode.get(key.split('|')[1]);
        return service?.providers?.length && NEEDS_PROVIDER.has(v.result) && !v.provider;
      });
      const unticked = [...cards.keys()].find((code) => !Object.keys(state).some((k) => k.endsWith(`|${code}`)));
      errorBox.textContent = missing ? `Chọn nhà cung cấp cho ${missing[0].split('|')[1]}.`
        : unticked ? `Đánh dấu người được hỗ trợ ${byCode.get(unticked)?.label || unticked} (hoặc bỏ dịch vụ này).` : '';
      return errorBox.textContent;
    },
  };
}
