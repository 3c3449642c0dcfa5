// Diacritics-insensitive search for Vietnamese names and addresses.
//
// Members type without tones on cheap keyboards ("nguyen van a") and must still find "Nguyễn Văn A".
// NFD splits a letter from its combining marks (ễ → e + ̂ + ̃), which we drop. đ/Đ is a separate
// letter, not d + a mark, so NFD leaves it alone: it needs its own rule.
const MARKS = /[\u0300-\u036f]/g;

/** Fold a string to lower-case ASCII-ish text: no tones, no hats, đ → d, single spaces. */
export function fold(text) {
  return String(text ?? '')
    .normalize('NFD')
    .replace(MARKS, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Precompute the folded form of a row's searchable text (do it once per row, not per keystroke). */
export function searchKey(text) {
  return ` ${fold(text).replace(/[^a-z0-9 ]/g, ' ').replace(/ +/g, ' ')}`;
}

/**
 * Build a predicate over `searchKey` values: every query word must start some word of the haystack.
 * Word prefixes (not bare substrings) keep "an" from matching every "Xuân" and "Lan".
 */
export function matcher(query) {
  const words = searchKey(query).split(' ').filter(Boolean);
  if (!words.length) return () => true;
  return (key) => words.every((w) => key.includes(` ${w}`));
}
