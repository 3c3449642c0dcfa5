// The per-resident service checklist of a visit: one result (and for CKS a provider) per service and
// person, plus household-level services (e.g. TMĐT) with no resident.
import { RESULTS } from '../labels.js';
import { h, select, uid } from './dom.js';

const HOUSEHOLD = 'hh';
// A provider matters when a signature exists or is being issued, not when the person declined.
const NEEDS_PROVIDER = new Set(['done', 'in_progress', 'already_had']);

/**
 * A stored visit's `services` lines as the checklist's state (to correct the visit). Lines for a
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
 * Build the checklist. `initial` maps `"<residentId|hh>|<code>"` → `{result, provider}` (the draft).
 * Returns `{node, state(), lines(), validate()}`; `onChange` is called on every change.
 */
export function serviceChecklist(services, residents, initial, onChange) {
  const state = { ...(initial || {}) };
  const personal = services.filter((s) => s.unit !== 'household');
  const household = services.filter((s) => s.unit === 'household');
  const errorBox = h('p', { class: 'error', role: 'alert' });

  const groups = [];
  residents.filter((r) => !r.anonymised).forEach((r, i) => {
    groups.push(group(`${r.full_name}${r.birth_year ? ` (${r.birth_year})` : ''}`, r.id, personal, i === 0));
  });
  if (household.length) groups.push(group('Dịch vụ cho cả hộ', HOUSEHOLD, household, !residents.length));

  function group(title, who, list, open) {
    const count = h('span', { class: 'tag' });
    const updateCount = () => {
      const n = list.filter((s) => state[`${who}|${s.code}`]?.result).length;
      count.textContent = n ? `${n} dịch vụ` : 'chưa chọn';
      count.className = n ? 'tag ok' : 'tag';
    };
    const body = h('div', { class: 'svc-body' }, list.map((s) => line(who, s, updateCount)));
    updateCount();
    return h('details', { class: 'svc-person', open }, h('summary', {}, title, ' ', count), body);
  }

  function line(who, service, updateCount) {
    const key = `${who}|${service.code}`;
    const current = state[key] || {};
    const id = uid('svc');
    const result = select('result', [['', '— Không ghi —'], ...Object.entries(RESULTS)], current.result, { id, dataset: { key } });
    const providers = service.providers || [];
    const providerId = uid('prov');
    const provider = providers.length
      ? select('provider', [['', '— Chọn nhà cung cấp —'], ...providers.map((p) => [p, p])], current.provider, { id: providerId, dataset: { key } })
      : null;
    const providerField = provider ? h('div', {}, h('label', { for: providerId }, `Nhà cung cấp ${service.code}`), provider) : null;
    // "Khác" is free text: what was done goes in the line's `detail`.
    const detailId = uid('detail');
    // No maxlength: it counts UTF-16 units before normalisation; the form checks the rules' limit.
    const detail = service.code === 'KHAC' ? h('input', { id: detailId, name: 'detail', value: current.detail || '' }) : null;
    const detailField = detail ? h('div', {}, h('label', { for: detailId }, 'Nội dung hỗ trợ'), detail) : null;
    const sync = () => {
      const value = { result: result.value || null, provider: provider?.value || null, detail: detail?.value.trim() || null };
      if (value.result) state[key] = value; else delete state[key];
      if (providerField) providerField.hidden = !NEEDS_PROVIDER.has(value.result);
      // What was done is asked only once a result says something was.
      if (detailField) detailField.hidden = !value.result;
      updateCount();
    };
    result.addEventListener('change', () => { sync(); onChange(); });
    provider?.addEventListener('change', () => { sync(); onChange(); });
    detail?.addEventListener('input', () => { sync(); onChange(); });
    if (providerField) providerField.hidden = !NEEDS_PROVIDER.has(current.result);
    if (detailField) detailField.hidden = !current.result;
    return h('div', { class: 'svc-line' }, h('label', { for: id }, service.label || service.code), result, providerField, detailField);
  }

  const node = h('div', { id: 'service-checklist' },
    residents.length ? null : h('p', { class: 'hint' }, 'Hộ chưa có nhân khẩu: hãy thêm nhân khẩu để ghi dịch vụ cho từng người.'),
    groups,
    errorBox);

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
        const service = services.find((s) => s.code === key.split('|')[1]);
        return service?.providers?.length && NEEDS_PROVIDER.has(v.result) && !v.provider;
      });
      errorBox.textContent = missing ? `Chọn nhà cung cấp cho ${missing[0].split('|')[1]}.` : '';
      return errorBox.textContent;
    },
  };
}
