// The server's input rules, mirrored on the phone: a record the phone accepts is one the server
// accepts. The rules come from `GET /api/v1/rules` (built from server/vocab.py; rules-store.js fetches
// and stores them); BAKED is the copy the phone uses until its first fetch.
//
// Pure: no DOM, no IndexedDB, no fetch, no imports. The service worker and Node's test runner
// (tests/js/rules.test.mjs) load it as it is.
//
// What each check mirrors (clean_text in schemas/fields.py on the server), in the same order:
// - text: lone surrogates are refused (`bad_characters`); "\r\n" becomes "\n"; NFC; single-line
//   kinds turn every run of `whitespace` into one space; both ends are trimmed of whitespace (all
//   kinds); then any character of `bidi_controls`, or whose general category is in the kind's
//   `forbidden_categories` (unless in the kind's `allowed`), is `bad_characters`; a value that
//   was not empty but is now is `blank`; more code points than `max` is `too_long`.
//   "Whitespace" is the server's spelled-out class (vocab.WHITESPACE), not JS's \s or Python's
//   isspace(), which differ at the edges (U+FEFF, U+001C-U+001F, U+0085).
// - phone: a "line" of at most 32 characters, separators removed, then `phone.pattern`
//   (`invalid_phone`). The server then also asks libphonenumber, which is stricter still.
// - numbers: integers (location: finite numbers) within [min, max] (`out_of_range`).

export const BAKED = {
  version: 'baked',
  vocab: {
    item_types: ['household', 'resident', 'visit'],
    outcomes: ['completed', 'partial', 'not_home', 'refused'],
    reached_outcomes: ['completed', 'partial'],
    results: ['done', 'already_had', 'in_progress', 'declined', 'not_eligible', 'failed'],
    sexes: ['M', 'F', 'X'],
    consent_purposes: ['support', 'contact', 'photo'],
    roles: ['member', 'team_lead', 'commune_officer', 'province_analyst', 'admin'],
    hamlet_kinds: ['ap', 'thon', 'khu_pho', 'to_dan_pho'],
    photo_types: ['image/jpeg', 'image/png', 'image/webp'],
    review_states: ['received', 'has_issues', 'approved', 'rejected'],
    service_units: ['person', 'household'],
  },
  text: {
    'household.address': { kind: 'line', max: 255 },
    'household.head_name': { kind: 'name', max: 160 },
    'resident.full_name': { kind: 'name', max: 160 },
    'visit.notes': { kind: 'text', max: 4000 },
    'service.code': { kind: 'line', max: 16 },
    'service.provider': { kind: 'line', max: 40 },
    'service.detail': { kind: 'line', max: 255 },
    'push.device_id': { kind: 'line', max: 120 },
    vocabulary: { kind: 'line', max: 40 },
    'auth.username': { kind: 'line', max: 80 },
    'auth.password': { kind: 'line', max: 256 },
  },
  text_kinds: {
    name: { forbidden_categories: ['Cc', 'Cf', 'Cs', 'Co', 'Cn'], allowed: [], single_line: true },
    line: { forbidden_categories: ['Cc', 'Cs', 'Co'], allowed: [], single_line: true },
    text: { forbidden_categories: ['Cc', 'Cs', 'Co'], allowed: ['\n', '\t'], single_line: false },
  },
  bidi_controls: '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069',
  // server/vocab.py WHITESPACE (a regex source); used when the rules document does not carry one.
  whitespace: '[ \t\n\r\f\v\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+',
  numbers: {
    'household.members_count': { min: 1, max: 60 },
    'household.adults_count': { min: 0, max: 60 },
    'resident.birth_year': { min: 1900, max: null }, // null: this year (the server sends the number)
    'location.lat': { min: -90, max: 90 },
    'location.lon': { min: -180, max: 180 },
    'location.accuracy_m': { min: 0, max: 100000 },
    id: { min: 1, max: 2147483647 },
    version: { min: 1, max: 2147483647 },
  },
  phone: {
    region: 'VN',
    pattern: '^(?:\\+84|84|0)(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])\\d{7}$|^(?:\\+84|84|0)2\\d{9}$',
    separators: '[\\s.\\-()]',
  },
  dates: { earliest: '2020-01-01', clock_skew_minutes: 15, follow_up_max_days: 366, utc_offset_hours: 7 },
  push: { max_items: 500, max_bytes: 2097152, services_per_visit: 200 },
  pull: { max_limit: 1000 },
  photo: { max_bytes: 10485760, types: ['image/jpeg', 'image/png', 'image/webp'] },
  error_codes: {}, // the server's English texts; the phone shows labels.js CODES instead
};

const PHONE_MAX = 32; // the server reads a phone as a "line" of at most 32 characters first

let active = BAKED;

/** The rules in force: the last fetched copy merged over BAKED, or BAKED itself. */
export function currentRules() {
  return active;
}

/** Put fetched rules in force (anything malformed in them falls back to BAKED); returns them. */
export function useRules(fetched) {
  active = mergeRules(fetched);
  return active;
}

const isObj = (v) => v != null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const CATEGORY = /^[A-Z][a-z]?$/;

/**
 * BAKED overlaid with whatever of `fetched` is well-formed, entry by entry: a server that adds a
 * field or a kind is followed, a broken or partial document never breaks the forms.
 */
export function mergeRules(fetched) {
  if (!isObj(fetched)) return BAKED;
  const out = { ...BAKED };
  if (typeof fetched.version === 'string') out.version = fetched.version;

  out.vocab = { ...BAKED.vocab };
  for (const [name, list] of Object.entries(isObj(fetched.vocab) ? fetched.vocab : {})) {
    if (Array.isArray(list) && list.every((v) => typeof v === 'string')) out.vocab[name] = list;
  }

  out.text_kinds = { ...BAKED.text_kinds };
  for (const [name, kind] of Object.entries(isObj(fetched.text_kinds) ? fetched.text_kinds : {})) {
    if (isObj(kind) && Array.isArray(kind.forbidden_categories) && kind.forbidden_categories.every((c) => CATEGORY.test(c))
      && Array.isArray(kind.allowed) && kind.allowed.every((c) => typeof c === 'string') && typeof kind.single_line === 'boolean') {
      out.text_kinds[name] = kind;
    }
  }

  out.text = { ...BAKED.text };
  for (const [field, rule] of Object.entries(isObj(fetched.text) ? fetched.text : {})) {
    if (isObj(rule) && out.text_kinds[rule.kind] && Number.isInteger(rule.max) && rule.max >= 0) out.text[field] = rule;
  }

  if (typeof fetched.bidi_controls === 'string') out.bidi_controls = fetched.bidi_controls;
  if (compiles(fetched.whitespace, 'u')) out.whitespace = fetched.whitespace;

  out.numbers = { ...BAKED.numbers };
  for (const [key, range] of Object.entries(isObj(fetched.numbers) ? fetched.numbers : {})) {
    if (isObj(range) && (range.min == null || isNum(range.min)) && (range.max == null || isNum(range.max))) out.numbers[key] = range;
  }

  const phone = isObj(fetched.phone) ? fetched.phone : {};
  out.phone = {
    region: typeof phone.region === 'string' ? phone.region : BAKED.phone.region,
    pattern: compiles(phone.pattern) ? phone.pattern : BAKED.phone.pattern,
    separators: compiles(phone.separators) ? phone.separators : BAKED.phone.separators,
  };

  for (const section of ['dates', 'push', 'pull', 'photo', 'error_codes']) {
    out[section] = isObj(fetched[section]) ? { ...BAKED[section], ...fetched[section] } : BAKED[section];
  }
  return out;
}

function compiles(source, flags = '') {
  if (typeof source !== 'string' || !source) return false;
  try { new RegExp(source, flags); return true; } catch { return false; } // eslint-disable-line no-new
}

// Compiled pieces, per rules object (rules objects are never mutated).
const compiled = new WeakMap();
function compile(r) {
  let c = compiled.get(r);
  if (!c) {
    const kinds = {};
    for (const [name, kind] of Object.entries(r.text_kinds)) {
      const cats = kind.forbidden_categories.filter((cat) => CATEGORY.test(cat));
      kinds[name] = {
        forbidden: cats.length ? new RegExp(`[${cats.map((cat) => `\\p{${cat}}`).join('')}]`, 'u') : null,
        allowed: new Set(kind.allowed),
        singleLine: kind.single_line,
      };
    }
    // The server's class may or may not end in "+"; runs are what collapse.
    const ws = r.whitespace.endsWith('+') ? r.whitespace : `(?:${r.whitespace})+`;
    c = {
      kinds,
      runs: new RegExp(ws, 'gu'),
      ends: new RegExp(`^${ws}|${ws}$`, 'gu'),
      bidi: new Set(r.bidi_controls),
      phone: new RegExp(r.phone.pattern),
      separators: new RegExp(r.phone.separators, 'g'),
    };
    compiled.set(r, c);
  }
  return c;
}

const LONE_SURROGATE = /\p{Cs}/u; // with the u flag only unpaired halves match

/** Length in code points (what Python's len() counts), not UTF-16 units. */
export function codePoints(text) {
  let n = 0;
  for (const _ of text) n += 1; // eslint-disable-line no-unused-vars
  return n;
}

/**
 * Check and tidy text for `field` (a key of `rules.text`, e.g. 'household.head_name').
 * Returns `{value, code}`: the value as the server would store it, and null or the rejection code
 * (`wrong_type`, `bad_characters`, `blank`, `too_long`). null/undefined pass as null.
 */
export function checkText(field, value, r = active) {
  if (value == null) return { value: null, code: null };
  if (typeof value !== 'string') return { value, code: 'wrong_type' };
  const rule = r.text[field];
  const kindName = rule?.kind || 'line';
  return cleanText(value, kindName, rule ? rule.max : Infinity, r);
}

/** The server's clean_text(value, kind, max) for a kind name. */
export function cleanText(value, kindName, max, r = active) {
  const c = compile(r);
  const kind = c.kinds[kindName] || c.kinds.line;
  if (LONE_SURROGATE.test(value)) return { value, code: 'bad_characters' };
  let text = value.replace(/\r\n/g, '\n').normalize('NFC');
  if (kind.singleLine) text = text.replace(c.runs, ' ');
  text = text.replace(c.ends, '');
  for (const ch of text) {
    if (c.bidi.has(ch)) return { value: text, code: 'bad_characters' };
    if (!kind.allowed.has(ch) && kind.forbidden?.test(ch)) return { value: text, code: 'bad_characters' };
  }
  if (value && !text) return { value: text, code: 'blank' };
  if (codePoints(text) > max) return { value: text, code: 'too_long' };
  return { value: text, code: null };
}

/**
 * Check a phone number. Returns `{value, code}`: `value` is null for an empty entry, else the
 * number without separators; `code` is null or `bad_characters`/`too_long`/`invalid_phone`.
 */
export function checkPhone(value, r = active) {
  if (value == null) return { value: null, code: null };
  const line = cleanText(String(value), 'line', PHONE_MAX, r);
  if (line.code === 'blank' || (!line.code && !line.value)) return { value: null, code: null };
  if (line.code) return line;
  const c = compile(r);
  const digits = line.value.replace(c.separators, '');
  return c.phone.test(digits) ? { value: digits, code: null } : { value: digits, code: 'invalid_phone' };
}

/** `{min, max}` of a bounded number; a null max on the birth year is this year. */
export function bounds(key, r = active, now = new Date()) {
  const range = r.numbers[key] || {};
  let max = range.max ?? null;
  if (max == null && key === 'resident.birth_year') max = now.getFullYear();
  return { min: range.min ?? null, max };
}

/**
 * Check a number for `key` of `rules.numbers`: null or `wrong_type` / `out_of_range`.
 * Counts must be integers; positions (`location.*`) any finite number. null/undefined pass.
 */
export function checkNumber(key, value, r = active, now = new Date()) {
  if (value == null) return null;
  const integer = !key.startsWith('location.');
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) return 'wrong_type';
  const { min, max } = bounds(key, r, now);
  if ((min != null && value < min) || (max != null && value > max)) return 'out_of_range';
  return null;
}

/** Whether `value` is in the vocabulary `name` (e.g. 'sexes', 'outcomes'). */
export function inVocab(name, value, r = active) {
  return (r.vocab[name] || []).includes(value);
}

/** `{lat, lon, accuracy_m}` as the server checks it: `{field: code}` for what is wrong ({} if fine). */
export function checkLocation(loc, r = active) {
  const errors = {};
  if (loc == null) return errors;
  for (const key of ['lat', 'lon', 'accuracy_m']) {
    if (key !== 'accuracy_m' && loc[key] == null) { errors[key] = 'required'; continue; }
    const code = checkNumber(`location.${key}`, loc[key], r);
    if (code) errors[key] = code;
  }
  return errors;
}

/** The calendar day (YYYY-MM-DD) of an ISO time at the server's local offset (Vietnam: +7). */
export function localDay(iso, r = active) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const offset = (r.dates.utc_offset_hours ?? 7) * 3600000;
  return new Date(ms + offset).toISOString().slice(0, 10);
}

/** YYYY-MM-DD plus `days`. */
export function addDays(ymd, days) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** A time the phone stamps (visit, consent): `too_old` when the phone's clock is before the programme. */
export function checkMoment(iso, r = active) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return 'not_datetime';
  return new Date(ms).toISOString().slice(0, 10) < r.dates.earliest ? 'too_old' : null;
}

/** A follow-up day against its visit's time: null, `before_visit` or `too_far_ahead`. */
export function checkFollowUp(followUpOn, visitedAt, r = active) {
  if (!followUpOn) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(followUpOn)) return 'not_date';
  const day = localDay(visitedAt, r);
  if (!day) return null;
  if (followUpOn < day) return 'before_visit';
  if (followUpOn > addDays(day, r.dates.follow_up_max_days)) return 'too_far_ahead';
  return null;
}

// ---- whole records: `{data, errors}` with the data as it will be sent and `{field: code}` -------
// Beyond the server's rules, the phone requires what a member must always fill in (`required`).

function textInto(data, errors, key, field, r, required = false) {
  const { value, code } = checkText(field, data[key] ?? '', r);
  data[key] = code === 'blank' ? '' : value;
  if (code && code !== 'blank') errors[key] = code;
  else if (required && !data[key]) errors[key] = 'required';
}

function numberInto(data, errors, key, field, r, required = false) {
  if (data[key] == null) {
    data[key] = null;
    if (required) errors[key] = 'required';
    return;
  }
  const code = checkNumber(field, data[key], r); // NaN (not a whole number typed) is wrong_type
  if (code) errors[key] = code;
}

function phoneInto(data, errors, r) {
  const { value, code } = checkPhone(data.phone, r);
  data.phone = code ? data.phone : value;
  if (code) errors.phone = code;
}

function locationInto(data, errors, r) {
  const bad = checkLocation(data.location, r);
  if (Object.keys(bad).length) errors.location = Object.values(bad)[0];
}

/** A household as the form made it → `{data, errors}`. */
export function checkHousehold(raw, r = active) {
  const data = { ...raw };
  const errors = {};
  textInto(data, errors, 'head_name', 'household.head_name', r, true);
  textInto(data, errors, 'address', 'household.address', r, true);
  numberInto(data, errors, 'members_count', 'household.members_count', r, true);
  numberInto(data, errors, 'adults_count', 'household.adults_count', r, true);
  if (!errors.members_count && !errors.adults_count && data.adults_count > data.members_count) errors.adults_count = 'exceeds_members';
  phoneInto(data, errors, r);
  locationInto(data, errors, r);
  return { data, errors };
}

/** A resident as the form made it → `{data, errors}`. */
export function checkResident(raw, r = active) {
  const data = { ...raw };
  const errors = {};
  const withdrawing = data.consent && data.consent.given === false;
  textInto(data, errors, 'full_name', 'resident.full_name', r, !withdrawing);
  numberInto(data, errors, 'birth_year', 'resident.birth_year', r, true);
  if (data.sex == null || data.sex === '') errors.sex = 'required';
  else if (!inVocab('sexes', data.sex, r)) errors.sex = 'not_allowed';
  phoneInto(data, errors, r);
  const consent = data.consent || {};
  if ((consent.purposes || []).some((p) => !inVocab('consent_purposes', p, r))) errors['consent.purposes'] = 'not_allowed';
  const clock = consent.at ? checkMoment(consent.at, r) : 'required';
  if (clock) errors['consent.at'] = clock;
  return { data, errors };
}

/** A visit as the form made it → `{data, errors}` (service lines as `services.<i>.<field>`). */
export function checkVisit(raw, r = active) {
  const data = { ...raw, services: (raw.services || []).map((line) => ({ ...line })) };
  const errors = {};
  if (!inVocab('outcomes', data.outcome, r)) errors.outcome = data.outcome ? 'not_allowed' : 'required';
  const clock = checkMoment(data.visited_at, r);
  if (clock) errors.visited_at = clock;
  const { value, code } = checkText('visit.notes', data.notes ?? '', r);
  data.notes = code === 'blank' ? '' : value;
  if (code && code !== 'blank') errors.notes = code;
  const max = r.push.services_per_visit;
  if (max != null && data.services.length > max) errors.services = 'too_long';
  const seen = new Set();
  data.services.forEach((line, i) => {
    if (!inVocab('results', line.result, r)) errors[`services.${i}.result`] = 'not_allowed';
    for (const key of ['provider', 'detail']) {
      if (line[key] == null) continue;
      const checked = checkText(`service.${key}`, line[key], r);
      line[key] = checked.value || null;
      if (checked.code && checked.code !== 'blank') errors[`services.${i}.${key}`] = checked.code;
    }
    const pair = `${line.code}|${line.resident_id}`;
    if (seen.has(pair)) errors.services = 'repeated_line';
    seen.add(pair);
  });
  const fu = checkFollowUp(data.follow_up_on, data.visited_at, r);
  if (fu) errors.follow_up_on = fu;
  locationInto(data, errors, r);
  return { data, errors };
}
