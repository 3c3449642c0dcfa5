// Shrink a camera photo on the phone before it is stored and uploaded: a 12 MP JPEG of 4-6 MB becomes
// ~200-400 KB at 1600 px, which is what a cheap phone's storage and a 2G link can carry.
export const LONG_EDGE = 1600;
export const QUALITY = 0.8;

/** Downscale an image File/Blob to at most LONG_EDGE px on its long edge, re-encoded as JPEG. */
export async function downscale(file, longEdge = LONG_EDGE, quality = QUALITY) {
  // imageOrientation 'from-image' applies the EXIF rotation, so portrait photos stay upright once
  // the EXIF is gone (re-encoding through a canvas drops EXIF, GPS included).
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close?.();
  const blob = await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/jpeg', quality));
  canvas.width = 0; // free the pixels now: low-end phones run out of canvas memory quickly
  return { blob, width: w, height: h };
}
