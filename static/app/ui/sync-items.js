// How outbox items are described on the sync screen: a title, a field-by-field comparison for a
// conflict, and the server's reasons for a rejection, all in Vietnamese.
import { formatLocation } from '../geo.js';
import { CODES, FAILURES, FIELDS, OUTCOMES, PURPOSES, SEX, SUBFIELDS, TYPES, displayPhone, formatDate, formatTime } from '../labels.js';
import { h } from './dom.js';

/**
 * "Hộ gia đình: Nguyễn Văn A", "Nhân khẩu: Trần Thị B — hộ Nguyễn Văn A", "Lượt thăm hộ Nguyễn
 * Văn A: Hoàn thành 09:12 05/10". `heads` maps household id → head's name (see headNames).
 */
export function itemTitle(item, heads = new Map()) {
  const d = item.data || {};
  const head = heads.get(d.household_id) || (d.household_id ? 'chưa rõ' : '');
  if (item.type === 'visit') return `${TYPES.visit} hộ ${head}: ${OUTCOMES[d.outcome] || d.outcome || ''} ${formatTime(d.visited_at)}`.trim();
  if (item.type === 'resident') return `${TYPES.resident}: ${d.full_name || 'không tên'} — hộ ${head}`;
  return `${TYPES[item.type] || item.type}: ${d.head_name || item.id.slice(0, 8)}`;
}

/** household id → head's name, from the stored households and the outbox (new ones). */
export function headNames(householdRows, items = []) {
  const map = new Map();
  for (const row of householdRows) {
    const d = row.local || row.data;
    if (d?.head_name) map.set(row.id, d.head_name);
  }
  for (const item of items) if (item.type === 'household' && item.data?.head_name) map.set(item.id, item.data.head_name);
  return map;
}

/**
 * Why a record waits for the member, shown above its form while they correct it: the server's
 * reasons (refused), the server's version (conflict) or the failure (set aside). Null if none.
 */
export function itemNotice(item, hamletNames = {}) {
  if (!item || item.state === 'pending') return null;
  if (item.state === 'rejected') {
    return h('div', { class: 'card notice error-notice', id: 'item-notice' },
      h('p', {}, h('b', {}, 'Máy chủ từ chối bản ghi này. '), 'Hãy sửa các mục sau rồi lưu để gửi lại:'),
      errorList(item.errors, item.codes));
  }
  if (item.state === 'conflict') {
    return h('div', { class: 'card notice error-notice', id: 'item-notice' },
      h('p', {}, h('b', {}, 'Xung đột: '), 'bản ghi đã được sửa trên máy chủ. Lưu bản đã sửa sẽ thay bản trên máy chủ.'),
      diffTable(item, hamletNames));
  }
  if (item.state === 'error') {
    return h('div', { class: 'card notice error-notice', id: 'item-notice' }, h('p', { class: 'error' }, failureText(item.failure)));
  }
  return null;
}

/** Show a field value the way a member reads it (`hamletNames`: id → name, for hamlet_id). */
export function show(field, value, hamletNames = {}) {
  if (value == null || value === '') return '—';
  if (field === 'hamlet_id') return hamletNames[value] || String(value);
  if (field === 'location') return formatLocation(value);
  if (field === 'sex') return SEX[value] || value;
  if (field === 'consent') {
    if (!value.given) return value.withdrawn_at ? 'Đã rút đồng ý' : 'Chưa đồng ý';
    return `Đồng ý: ${(value.purposes || []).map((p) => PURPOSES[p] || p).join(', ')}`;
  }
  if (field === 'services' && Array.isArray(value)) return `${value.length} dịch vụ`;
  if (field === 'phone') return displayPhone(value);
  if (field === 'visited_at') return formatTime(value);
  if (field === 'follow_up_on') return formatDate(value);
  if (field === 'outcome') return OUTCOMES[value] || value;
  return String(value);
}

const HIDDEN = new Set(['id', 'anonymised', 'household_id', 'version']);

/** Mine vs server, one row per field; changed rows highlighted. */
export function diffTable(item, hamletNames = {}) {
  const mine = item.data || {};
  const server = item.server?.data || {};
  // A stored visit comes back with what the office adds (review, photos): only what the phone sends is compared.
  const keys = [...new Set([...Object.keys(mine), ...Object.keys(server)])]
    .filter((k) => !HIDDEN.has(k) && (item.type !== 'visit' || k in mine));
  return h('table', { class: 'diff' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Mục'), h('th', { scope: 'col' }, 'Trên máy này'), h('th', { scope: 'col' }, `Trên máy chủ${item.server?.version != null ? ` (phiên bản ${item.server.version})` : ''}`))),
    h('tbody', {}, keys.map((k) => {
      const a = show(k, mine[k], hamletNames);
      const b = show(k, server[k], hamletNames);
      return h('tr', { class: a !== b ? 'changed' : '' }, h('th', { scope: 'row' }, FIELDS[k] || k), h('td', {}, a), h('td', {}, b));
    })));
}

/** "services.0.provider" → "Dịch vụ 1 (nhà cung cấp)", "location.lat" → "Vị trí (vĩ độ)". */
export function fieldName(path) {
  const m = /^services\.(\d+)\.(\w+)$/.exec(path);
  if (m) return `Dịch vụ ${Number(m[1]) + 1} (${SUBFIELDS[m[2]] || m[2]})`;
  if (FIELDS[path]) return FIELDS[path];
  const [head, ...rest] = path.split('.');
  if (FIELDS[head] && rest.length) return `${FIELDS[head]} (${rest.map((p) => SUBFIELDS[p] || p).join(', ')})`;
  return path;
}

/**
 * The messages of one field: the Vietnamese label of each stable code; the server's English text
 * only for a code this app version does not know (or a server that sends no codes).
 */
export function fieldMessages(messages, codes) {
  const texts = [].concat(messages ?? []).map((m) => (typeof m === 'string' ? m : JSON.stringify(m)));
  if (!Array.isArray(codes) || !codes.length) return texts;
  return codes.map((code, i) => CODES[code] || texts[i] || String(code));
}

/** The server's reasons for a rejection: `errors` {field: [messages]} with `codes` {field: [codes]}. */
export function errorList(errors, codes) {
  const fields = [...new Set([...Object.keys(errors || {}), ...Object.keys(codes || {})])];
  if (!fields.length) return h('p', { class: 'error' }, 'Máy chủ từ chối mục này.');
  return h('ul', { class: 'error-list' }, fields.map((field) => h('li', { class: 'error', dataset: { field } },
    `${fieldName(field)}: ${fieldMessages(errors?.[field], codes?.[field]).join('; ')}`)));
}

/** Why an item was set aside, in Vietnamese ("Máy chủ gặp lỗi khi nhận bản ghi này (lỗi 500)"). */
export function failureText(failure) {
  const what = FAILURES[failure?.reason] || FAILURES.server_error;
  return failure?.status ? `${what} (lỗi ${failure.status}).` : `${what}.`;
}
