// Photo uploads: after their visit is stored, idempotent by photo id (a retry of the same bytes
// answers 200), so an upload cut off by the network is simply sent again on the next sync.
import { request, ApiError } from './api.js';
import { getDB, write } from './db.js';

// Answers that will never turn into a success by retrying the same bytes.
const FINAL = { 409: 'Mã ảnh đã có trên máy chủ với nội dung khác', 413: 'Ảnh quá lớn', 415: 'Tệp không phải ảnh hợp lệ', 422: 'Ảnh không hợp lệ' };

/** Upload every photo whose visit is stored; returns how many went up. Throws on a retryable failure. */
export async function uploadReadyPhotos() {
  const db = await getDB();
  const ready = (await db.getAll('photos')).filter((p) => p.state === 'ready');
  let done = 0;
  for (const photo of ready) {
    try {
      await request(`/visits/${encodeURIComponent(photo.visit_id)}/photos/${encodeURIComponent(photo.id)}`, {
        method: 'PUT',
        body: photo.blob,
        // The member ticked the consent box before the photo could be saved (see the visit form).
        headers: { 'Content-Type': photo.type || 'image/jpeg', 'X-Consent': 'yes' },
        timeoutMs: 120000,
      });
    } catch (err) {
      if (err instanceof ApiError && FINAL[err.status]) {
        await update(photo.id, { state: 'failed', error: FINAL[err.status], attempts: (photo.attempts || 0) + 1 });
        continue;
      }
      await update(photo.id, { attempts: (photo.attempts || 0) + 1 });
      throw err; // offline / 5xx / 401: stop here, the sync loop retries later
    }
    // 201 (stored) or 200 (already had these bytes): only now is the local copy redundant.
    await write(['photos', 'visits'], async (tx) => {
      await tx.objectStore('photos').delete(photo.id);
      const visit = await tx.objectStore('visits').get(photo.visit_id);
      if (visit) await tx.objectStore('visits').put({ ...visit, photo_uploaded: true });
    });
    done += 1;
  }
  return done;
}

async function update(id, patch) {
  await write(['photos'], async (tx) => {
    const row = await tx.objectStore('photos').get(id);
    if (row) await tx.objectStore('photos').put({ ...row, ...patch });
  });
}

/** Put a failed photo back in line (the member asked to retry it). */
export async function retryPhoto(id) {
  await update(id, { state: 'ready', error: null });
}

/** Drop a photo that cannot be uploaded (the member's explicit choice). */
export async function dropPhoto(id) {
  await write(['photos'], (tx) => tx.objectStore('photos').delete(id));
}
