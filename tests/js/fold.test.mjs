// Diacritics-insensitive search (static/app/fold.js): members type without tones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fold, matcher, searchKey } from '../../static/app/fold.js';

describe('fold', () => {
  it('drops tones and hats, maps đ to d, lower-cases and tidies spaces', () => {
    assert.equal(fold('Nguyễn Văn Ánh ĐỖ Thị Đào'), 'nguyen van anh do thi dao');
    assert.equal(fold('  Trần\u00a0\tThị   Bé '), 'tran thi be');
    assert.equal(fold(null), '');
  });

  it('folds composed and decomposed input alike', () => {
    assert.equal(fold('Nguye\u0302\u0303n'), fold('Nguyễn'));
  });
});

describe('matcher', () => {
  const key = searchKey('Nguyễn Văn A, Tổ 3 ấp Bảo Định 0912345678');
  it('finds names typed without tones, in any order', () => {
    assert.equal(matcher('nguyen van a')(key), true);
    assert.equal(matcher('a nguyen')(key), true);
    assert.equal(matcher('bao dinh')(key), true);
    assert.equal(matcher('0912')(key), true);
    assert.equal(matcher('Định')(key), true);
  });

  it('matches word prefixes only', () => {
    assert.equal(matcher('an')(searchKey('Xuân Lộc')), false);
    assert.equal(matcher('loc')(searchKey('Xuân Lộc')), true);
  });

  it('matches everything for an empty query', () => {
    assert.equal(matcher('   ')(key), true);
  });
});
