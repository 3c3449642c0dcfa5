// Forms in progress, saved as the member types: a phone that kills the app to free memory, or a
// swipe from the task list, must not cost the member the visit they were recording.
import { getDB, write } from './db.js';

const DELAY_MS = 400;

/** The saved draft `{key, value, saved_at}` for `key`, or undefined. */
export async function loadDraft(key) {
  return (await getDB()).get('drafts', key);
}

/** Forget a draft (the member cancelled the form). */
export async function deleteDraft(key) {
  await write(['drafts'], (tx) => tx.objectStore('drafts').delete(key));
}

/**
 * A debounced saver: `schedule()` on every input, `flush()` when leaving. `getValue()` returns the
 * form's whole state (Blobs allowed). Also flushes when the page is hidden: the last moment a
 * mobile browser reliably lets us write before it may kill the tab.
 */
export function draftSaver(key, getValue, onSaved = () => {}) {
  let timer = null;
  let dirty = false;
  let saving = Promise.resolve();
  // A form being torn down still fires `change` as its focused field leaves the page: once stopped,
  // the saver must never write again, or it would bring back a draft a sync has just dropped.
  let stopped = false;
  const flush = () => {
    clearTimeout(timer);
    timer = null;
    if (!dirty || stopped) return saving;
    dirty = false;
    const value = getValue();
    saving = saving.then(() => write(['drafts'], (tx) => tx.objectStore('drafts').put({ key, value, saved_at: new Date().toISOString() })))
      .then(() => onSaved())
      .catch((err) => console.error('draft save failed', err));
    return saving;
  };
  const onHide = () => { if (document.visibilityState === 'hidden') flush(); };
  document.addEventListener('visibilitychange', onHide);
  window.addEventListener('pagehide', flush);
  return {
    schedule() {
      if (stopped) return;
      dirty = true;
      clearTimeout(timer);
      timer = setTimeout(flush, DELAY_MS);
    },
    flush,
    /** Stop saving (the record is being saved or the form cancelled); resolves when no write is in flight. */
    stop() {
      stopped = true;
      clearTimeout(timer);
      dirty = false;
      document.removeEventListener('visibilitychange', onHide);
      window.removeEventListener('pagehide', flush);
      return saving;
    },
    get saved() { return saving; },
  };
}
