// rules.js mirrors the server's input rules (schemas/fields.py clean_text, PhoneNumber, bounds):
// run with `node --test tests/js/` (tests/test_pwa_unit.py does it for pytest).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BAKED, addDays, checkFollowUp, checkHousehold, checkMoment, checkNumber, checkPhone, checkResident,
  checkText, checkVisit, codePoints, currentRules, localDay, mergeRules, useRules,
} from '../../static/app/rules.js';

const code = (field, value) => checkText(field, value).code;
const value = (field, v) => checkText(field, v).value;

describe('text: NFC', () => {
  it('normalises decomposed Vietnamese to precomposed characters', () => {
    const decomposed = 'Nguye\u0302\u0303n Va\u0306n A'; // e + circumflex + tilde, a + breve
    assert.notEqual(decomposed, 'Nguyễn Văn A');
    assert.equal(value('household.head_name', decomposed), 'Nguyễn Văn A');
    assert.equal(code('household.head_name', decomposed), null);
  });

  it('counts the limit in code points after normalisation, like Python len()', () => {
    const decomposed = 'e\u0302\u0303'.repeat(160); // 480 UTF-16 units, 160 characters once composed
    assert.equal(code('household.head_name', decomposed), null);
    assert.equal(code('household.head_name', `${decomposed}x`), 'too_long');
    assert.equal(codePoints('😀'), 1); // one code point, two UTF-16 units
    assert.equal(code('household.head_name', '😀'.repeat(160)), null);
    assert.equal(code('household.head_name', '😀'.repeat(161)), 'too_long');
    assert.equal(code('visit.notes', 'a'.repeat(4000)), null);
    assert.equal(code('visit.notes', 'a'.repeat(4001)), 'too_long');
  });
});

describe('text: forbidden characters', () => {
  it('refuses control characters in every kind, except newline and tab in multi-line text', () => {
    for (const field of ['household.head_name', 'household.address', 'visit.notes']) {
      assert.equal(code(field, 'A\u0000B'), 'bad_characters', field);
      assert.equal(code(field, 'A\u0007B'), 'bad_characters', field);
      assert.equal(code(field, 'A\u0085B'), 'bad_characters', field); // NEL: a control, not whitespace
    }
    assert.deepEqual(checkText('visit.notes', 'dòng 1\n\tdòng 2'), { value: 'dòng 1\n\tdòng 2', code: null });
    assert.equal(checkText('visit.notes', 'dòng 1\r\ndòng 2').value, 'dòng 1\ndòng 2');
    assert.equal(code('visit.notes', 'dòng 1\rdòng 2'), 'bad_characters'); // a lone CR inside is Cc
    assert.deepEqual(checkText('visit.notes', 'dòng 1\r'), { value: 'dòng 1', code: null }); // … at an end, trimmed
  });

  it('turns whitespace controls in single-line text into spaces first (as the server does)', () => {
    assert.deepEqual(checkText('household.address', 'Tổ 3\nấp Bảo Định'), { value: 'Tổ 3 ấp Bảo Định', code: null });
    assert.deepEqual(checkText('household.head_name', 'A\tB\r\nC\u000bD'), { value: 'A B C D', code: null });
  });

  it('refuses invisible format characters in names only', () => {
    for (const ch of ['\u200b', '\u200d', '\u2060', '\ufeff', '\u00ad']) {
      assert.equal(code('household.head_name', `Nguyễn${ch}Văn`), 'bad_characters', ch);
      assert.equal(code('household.address', `Tổ${ch}3`), null, ch);
    }
  });

  it('refuses unassigned code points in names, private use everywhere', () => {
    assert.equal(code('household.head_name', 'A\u0378'), 'bad_characters'); // unassigned (Cn)
    assert.equal(code('household.address', 'A\ue000'), 'bad_characters'); // private use (Co)
    assert.equal(code('visit.notes', 'A\uf8ff'), 'bad_characters');
  });

  it('refuses lone surrogates but not surrogate pairs', () => {
    assert.equal(code('household.address', 'a\ud800'), 'bad_characters');
    assert.equal(code('visit.notes', 'ghi chú \ud83d'), 'bad_characters');
    assert.equal(code('household.head_name', 'Nguy\udfffn'), 'bad_characters');
    assert.equal(code('visit.notes', 'vui 😀'), null);
  });

  it('refuses every bidi control in every kind (Trojan-source names)', () => {
    for (const ch of BAKED.bidi_controls) {
      for (const field of ['household.head_name', 'household.address', 'visit.notes', 'service.detail']) {
        assert.equal(code(field, `Nguyễn${ch}Văn A`), 'bad_characters', `U+${ch.codePointAt(0).toString(16)} ${field}`);
      }
    }
  });
});

describe('text: whitespace', () => {
  it('collapses runs of whitespace and trims single-line kinds', () => {
    assert.equal(value('household.head_name', '  Nguyễn   Văn \u00a0 A  '), 'Nguyễn Văn A');
    assert.equal(value('household.address', 'Tổ 3,\u3000ấp\u2003Bảo Định'), 'Tổ 3, ấp Bảo Định');
  });

  it('trims multi-line text but keeps its inner layout', () => {
    assert.equal(value('visit.notes', '  dòng 1\n\n  dòng 2  \n'), 'dòng 1\n\n  dòng 2');
  });

  it('calls a non-empty value of only whitespace blank; empty is fine', () => {
    assert.equal(code('household.head_name', '   '), 'blank');
    assert.equal(code('household.address', '\u00a0\u2003'), 'blank');
    assert.equal(code('visit.notes', '\n\n\t '), 'blank');
    assert.equal(code('household.address', ''), null);
  });

  it('uses the server\'s spelled-out whitespace, not JavaScript\'s \\s', () => {
    // U+FEFF is whitespace to JS's \\s but not to the server; in a "line" it is an ordinary character.
    assert.equal(value('household.address', '\ufeffTổ 3'), '\ufeffTổ 3');
    assert.equal(code('household.address', '\ufeff'), null);
  });

  it('passes null through and refuses non-strings', () => {
    assert.deepEqual(checkText('household.head_name', null), { value: null, code: null });
    assert.equal(checkText('household.head_name', 42).code, 'wrong_type');
  });
});

describe('phone', () => {
  it('accepts Vietnamese mobiles and landlines, written with separators', () => {
    for (const [input, digits] of [
      ['0912345678', '0912345678'], ['091 234 5678', '0912345678'], ['091.234.5678', '0912345678'],
      ['+84 912-345-678', '+84912345678'], ['84912345678', '84912345678'], ['(0251) 3822 345', '02513822345'],
      ['0386 123 456', '0386123456'],
    ]) assert.deepEqual(checkPhone(input), { value: digits, code: null }, input);
  });

  it('refuses numbers the server refuses', () => {
    for (const input of ['0123456789', '012345678', '09123456789', '+1 202 555 0100', '0912 345 67a', '0012345678']) {
      assert.equal(checkPhone(input).code, 'invalid_phone', input);
    }
  });

  it('treats an empty or blank entry as no phone', () => {
    assert.deepEqual(checkPhone(''), { value: null, code: null });
    assert.deepEqual(checkPhone('   '), { value: null, code: null });
    assert.deepEqual(checkPhone(null), { value: null, code: null });
  });

  it('refuses bad characters and overlong input before the pattern', () => {
    assert.equal(checkPhone('0912\u202e345678').code, 'bad_characters');
    assert.equal(checkPhone('0'.repeat(33)).code, 'too_long');
  });
});

describe('numbers', () => {
  it('bounds counts to the server\'s ranges', () => {
    assert.equal(checkNumber('household.members_count', 0), 'out_of_range');
    assert.equal(checkNumber('household.members_count', 1), null);
    assert.equal(checkNumber('household.members_count', 60), null);
    assert.equal(checkNumber('household.members_count', 61), 'out_of_range');
    assert.equal(checkNumber('household.adults_count', 0), null);
    assert.equal(checkNumber('household.adults_count', -1), 'out_of_range');
  });

  it('wants whole numbers for counts, any finite number for positions', () => {
    assert.equal(checkNumber('household.members_count', 2.5), 'wrong_type');
    assert.equal(checkNumber('household.members_count', Number.NaN), 'wrong_type');
    assert.equal(checkNumber('household.members_count', '3'), 'wrong_type');
    assert.equal(checkNumber('location.lat', 10.9312), null);
    assert.equal(checkNumber('location.lat', 90.5), 'out_of_range');
    assert.equal(checkNumber('location.accuracy_m', 150000), 'out_of_range');
    assert.equal(checkNumber('household.members_count', null), null);
  });

  it('ends the birth year at this year when the rules leave it open', () => {
    const year = new Date().getFullYear();
    assert.equal(checkNumber('resident.birth_year', 1899), 'out_of_range');
    assert.equal(checkNumber('resident.birth_year', year), null);
    assert.equal(checkNumber('resident.birth_year', year + 1), 'out_of_range');
  });
});

describe('dates', () => {
  it('finds the visit\'s day in Vietnam whatever offset the phone wrote', () => {
    assert.equal(localDay('2025-10-05T23:30:00+07:00'), '2025-10-05');
    assert.equal(localDay('2025-10-05T17:30:00Z'), '2025-10-06');
    assert.equal(addDays('2025-12-31', 1), '2026-01-01');
  });

  it('bounds a follow-up to [visit day, visit day + 366]', () => {
    const at = '2025-10-05T09:00:00+07:00';
    assert.equal(checkFollowUp('2025-10-04', at), 'before_visit');
    assert.equal(checkFollowUp('2025-10-05', at), null);
    assert.equal(checkFollowUp(addDays('2025-10-05', 366), at), null);
    assert.equal(checkFollowUp(addDays('2025-10-05', 367), at), 'too_far_ahead');
  });

  it('refuses a phone clock from before the programme', () => {
    assert.equal(checkMoment('2019-12-31T23:00:00+07:00'), 'too_old');
    assert.equal(checkMoment('2025-01-01T00:00:00+07:00'), null);
  });
});

describe('whole records', () => {
  const household = { hamlet_id: 1, head_name: 'Nguyễn Văn A', address: 'Tổ 3', members_count: 3, adults_count: 2, phone: '0912 345 678', location: null };

  it('accepts a good household and sends it tidied', () => {
    const { data, errors } = checkHousehold({ ...household, head_name: '  Nguye\u0302\u0303n  Văn A ' });
    assert.deepEqual(errors, {});
    assert.equal(data.head_name, 'Nguyễn Văn A');
    assert.equal(data.phone, '0912345678');
  });

  it('refuses what the server refuses (the phone used to accept these)', () => {
    const { errors } = checkHousehold({ ...household, members_count: 0, phone: '0123456789' });
    assert.deepEqual(errors, { members_count: 'out_of_range', phone: 'invalid_phone' });
    assert.deepEqual(checkHousehold({ ...household, adults_count: 4 }).errors, { adults_count: 'exceeds_members' });
    assert.deepEqual(checkHousehold({ ...household, head_name: '   ', address: '' }).errors, { head_name: 'required', address: 'required' });
    assert.deepEqual(checkHousehold({ ...household, location: { lat: 10.9, lon: 107.4, accuracy_m: 150000 } }).errors, { location: 'out_of_range' });
  });

  it('checks a resident\'s name, year, sex and consent time', () => {
    const resident = { household_id: 'x', full_name: 'Trần Thị B', birth_year: 1980, sex: 'F', phone: null, consent: { given: true, purposes: ['support'], at: '2025-10-05T09:00:00+07:00' } };
    assert.deepEqual(checkResident(resident).errors, {});
    assert.deepEqual(checkResident({ ...resident, full_name: 'Trần\u200bThị B', sex: 'Q', birth_year: 1800 }).errors,
      { full_name: 'bad_characters', sex: 'not_allowed', birth_year: 'out_of_range' });
    assert.deepEqual(checkResident({ ...resident, consent: { ...resident.consent, at: '2019-01-01T00:00:00+07:00' } }).errors, { 'consent.at': 'too_old' });
  });

  it('checks a visit\'s notes, lines and follow-up', () => {
    const visit = { household_id: 'x', visited_at: '2025-10-05T09:00:00+07:00', location: null, outcome: 'completed', notes: ' ghi chú ', services: [{ code: 'KHAC', resident_id: null, result: 'done', detail: ' in  hồ sơ ' }], follow_up_on: null };
    const ok = checkVisit(visit);
    assert.deepEqual(ok.errors, {});
    assert.equal(ok.data.notes, 'ghi chú');
    assert.equal(ok.data.services[0].detail, 'in hồ sơ');
    const bad = checkVisit({ ...visit, notes: 'x\u202e', outcome: 'maybe', follow_up_on: '2025-10-01', services: [{ ...visit.services[0], detail: 'd'.repeat(256) }, visit.services[0]] });
    assert.deepEqual(bad.errors, { notes: 'bad_characters', outcome: 'not_allowed', follow_up_on: 'before_visit', 'services.0.detail': 'too_long', services: 'repeated_line' });
  });
});

describe('fetched rules', () => {
  it('follow the server and fall back to BAKED for anything malformed', () => {
    try {
      useRules({ whitespace: '[ ]+' }); // a server that collapses only spaces
      assert.equal(value('household.address', 'a \u00a0 b'), 'a \u00a0 b');
      useRules({ whitespace: '[' }); // broken: BAKED's
      assert.equal(value('household.address', 'a \u00a0 b'), 'a b');
      useRules({ version: 'abc123', text: { 'household.head_name': { kind: 'name', max: 5 }, 'household.address': { kind: 'nope', max: 3 } }, phone: { pattern: '([' }, numbers: { 'household.members_count': { min: 1, max: 'x' } } });
      assert.equal(currentRules().version, 'abc123');
      assert.equal(code('household.head_name', 'Nguyễn'), 'too_long');
      assert.equal(code('household.address', 'Tổ 3, ấp Bảo Định'), null); // unknown kind: BAKED's rule
      assert.equal(checkPhone('0912345678').code, null); // broken pattern: BAKED's
      assert.equal(checkNumber('household.members_count', 60), null);
    } finally {
      useRules(null);
    }
    assert.equal(currentRules(), BAKED);
    assert.equal(mergeRules('garbage'), BAKED);
  });
});
