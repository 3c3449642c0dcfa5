// GPS for households and visits. The accuracy is kept with the point: the commune office flags
// visits far outside the hamlet, and a 2 km "fix" from cell towers must not look like a real one.

/**
 * Resolve to `{lat, lon, accuracy_m}` from one high-accuracy fix; rejects with a Vietnamese message.
 * `maxAgeMs`: how old a fix the phone may reuse (the hamlet map asks where the member is now).
 */
export function currentLocation({ timeoutMs = 20000, maxAgeMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error('Máy không hỗ trợ định vị')); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({
        lat: round(pos.coords.latitude, 6),
        lon: round(pos.coords.longitude, 6),
        accuracy_m: Math.round(pos.coords.accuracy),
      }),
      (err) => reject(new Error(MESSAGES[err.code] || 'Không lấy được vị trí')),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: maxAgeMs },
    );
  });
}

const MESSAGES = {
  1: 'Chưa cho phép ứng dụng dùng vị trí',
  2: 'Không xác định được vị trí (thử ra chỗ thoáng)',
  3: 'Hết thời gian chờ định vị',
};

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "10.931230, 107.401020 (±12 m)" */
export function formatLocation(loc) {
  if (!loc) return 'Chưa có vị trí';
  return `${loc.lat.toFixed(6)}, ${loc.lon.toFixed(6)} (±${loc.accuracy_m} m)`;
}
