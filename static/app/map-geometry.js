// The hamlet map's drawing, without tiles: the boundary (GeoJSON from pull) and household points
// projected to SVG units, and the nearest point to a tap or to the member. Longitude is scaled by
// cos(latitude), exact enough at a hamlet's size (as server/web/svgmap.py does for the office).
// Pure (no DOM): tested with Node in tests/js/map-geometry.test.mjs.

export const SIZE = 320; // the drawing's width in SVG units
const MARGIN = 10;

/** Every [lon, lat] of a GeoJSON Polygon/MultiPolygon (anything else: none). */
function rings(boundary) {
  if (boundary?.type === 'Polygon') return boundary.coordinates || [];
  if (boundary?.type === 'MultiPolygon') return (boundary.coordinates || []).flat();
  return [];
}

/**
 * `points`: `[{lat, lon, ...}]`. Returns `{width, height, path, dots, project}` where `dots` are
 * the points with `x`, `y` added, `path` the boundary as SVG path data, and `project(lat, lon)`
 * maps any other point (the member's position). Null when there is nothing to draw.
 */
export function layout(boundary, points) {
  const shape = rings(boundary).filter((r) => Array.isArray(r) && r.length > 2);
  const lons = [];
  const lats = [];
  for (const ring of shape) for (const [lon, lat] of ring) { lons.push(lon); lats.push(lat); }
  for (const p of points) { lons.push(p.lon); lats.push(p.lat); }
  if (!lons.length) return null;
  const minLon = Math.min(...lons);
  const maxLon = Math.max(...lons);
  const minLat = Math.min(...lats);
  const maxLat = Math.max(...lats);
  const kx = Math.cos(((minLat + maxLat) / 2) * (Math.PI / 180));
  const spanX = Math.max((maxLon - minLon) * kx, 1e-5);
  const spanY = Math.max(maxLat - minLat, 1e-5);
  const scale = (SIZE - 2 * MARGIN) / spanX;
  const height = Math.round(Math.min(Math.max(spanY * scale + 2 * MARGIN, 160), SIZE * 1.6));
  // A tall hamlet is fitted to the height limit instead, centred across.
  const fit = Math.min(scale, (height - 2 * MARGIN) / spanY);
  const dx = (SIZE - spanX * fit) / 2;
  const dy = (height - spanY * fit) / 2;
  const r1 = (v) => Math.round(v * 10) / 10;
  const project = (lat, lon) => ({ x: r1(dx + (lon - minLon) * kx * fit), y: r1(dy + (maxLat - lat) * fit) });
  const path = shape.map((ring) => `M${ring.map(([lon, lat]) => { const { x, y } = project(lat, lon); return `${x},${y}`; }).join(' L')} Z`).join(' ');
  const dots = points.map((p) => ({ ...p, ...project(p.lat, p.lon) }));
  return { width: SIZE, height, path, dots, project, metresPerUnit: 111320 / fit };
}

/** The dot nearest to (x, y) within `within` units (any distance when omitted), or null. */
export function nearest(dots, x, y, within = Infinity, accept = () => true) {
  let best = null;
  let bestD = within * within;
  for (const d of dots) {
    if (!accept(d)) continue;
    const dd = (d.x - x) ** 2 + (d.y - y) ** 2;
    if (dd <= bestD) { best = d; bestD = dd; }
  }
  return best;
}

/** Metres between two {lat, lon} (haversine). */
export function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(s));
}
