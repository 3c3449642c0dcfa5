// A word-prefix index over the household list's search keys (fold.js `searchKey`), so a search
// of a 2,000-household hamlet looks up a few sorted words instead of scanning every row's text.
// Same meaning as fold.js `matcher`: every query word must start some word of the row. Pure (no
// DOM, no IndexedDB): tested with Node in tests/js/search-index.test.mjs.
import { searchKey } from './fold.js';

/**
 * Index rows by the words of their keys. `keys[i]` is row i's `searchKey`; the index answers with
 * row numbers in ascending order (the list's order).
 */
export function buildIndex(keys) {
  const byWord = new Map();
  keys.forEach((key, row) => {
    for (const word of key.split(' ')) {
      if (!word) continue;
      const rows = byWord.get(word);
      if (!rows) byWord.set(word, [row]);
      else if (rows[rows.length - 1] !== row) rows.push(row); // a word twice in one row
    }
  });
  const words = [...byWord.keys()].sort();
  return { size: keys.length, words, rows: words.map((w) => byWord.get(w)) };
}

/** First position in the sorted `words` not below `word`. */
function lowerBound(words, word) {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid] < word) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rows having a word that starts with `prefix`, as a mark per row. */
function rowsWithPrefix(index, prefix) {
  const mark = new Uint8Array(index.size);
  for (let i = lowerBound(index.words, prefix); i < index.words.length && index.words[i].startsWith(prefix); i += 1) {
    for (const row of index.rows[i]) mark[row] = 1;
  }
  return mark;
}

/**
 * Rows matching `query` in ascending order, or null when the query has no words (every row
 * matches: the caller keeps its whole list).
 */
export function search(index, query) {
  const words = [...new Set(searchKey(query).split(' ').filter(Boolean))];
  if (!words.length) return null;
  // Longest words first: they usually match fewest rows, and an empty result stops early.
  words.sort((a, b) => b.length - a.length);
  let mark = null;
  for (const word of words) {
    const next = rowsWithPrefix(index, word);
    if (mark) for (let i = 0; i < mark.length; i += 1) mark[i] &= next[i];
    else mark = next;
    if (!mark.includes(1)) return [];
  }
  const out = [];
  for (let i = 0; i < mark.length; i += 1) if (mark[i]) out.push(i);
  return out;
}
