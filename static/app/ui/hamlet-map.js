// A small map of the hamlet, offline and without tiles: its boundary (pulled with the hamlet) and
// its households with GPS, red when the phone knows no visit, green when it does. Tapping a dot
// opens the household; "Hộ chưa thăm gần tôi" finds the nearest unvisited one from the member's
// GPS fix. Drawn as inline SVG from map-geometry.js.
import { lastVisits } from '../day.js';
import { currentLocation } from '../geo.js';
import { layout, distanceM, nearest } from '../map-geometry.js';
import { hamlet, householdsOf, visitKnowledge } from '../records.js';
import { button, h, linkButton, screenTitle } from './dom.js';
import { go } from './router.js';

const NS = 'http://www.w3.org/2000/svg';
const DOT_R = 3.2; // SVG units: about 8 px across on a 390 px screen
const TAP_PX = 18; // how far from a dot a tap still picks it (CSS pixels)

function svg(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const valid = (loc) => loc && Number.isFinite(loc.lat) && Number.isFinite(loc.lon);

export async function hamletMapScreen({ id }) {
  const hm = await hamlet(id);
  if (!hm) return h('section', {}, screenTitle('Không tìm thấy ấp', '#/'), h('p', {}, 'Ấp này không có trên máy. Hãy đồng bộ.'));
  const [households, known] = await Promise.all([householdsOf(hm.id), visitKnowledge()]);
  const last = lastVisits(known.visits, known.followups);
  // A household without its own GPS is placed where the phone last recorded a visit to it.
  const visitSpot = new Map();
  for (const v of [...known.visits].sort((a, b) => String(a.data?.visited_at).localeCompare(String(b.data?.visited_at)))) {
    if (valid(v.data?.location)) visitSpot.set(v.household_id, v.data.location);
  }
  const points = [];
  let missing = 0;
  for (const hh of households) {
    const loc = valid(hh.location) ? hh.location : visitSpot.get(hh.id);
    if (valid(loc)) points.push({ id: hh.id, name: hh.head_name || '(chưa có tên chủ hộ)', address: hh.address || '', lat: loc.lat, lon: loc.lon, visited: last.has(hh.id) });
    else missing += 1;
  }
  const map = layout(hm.boundary, points);
  const back = `#/hamlet/${hm.id}`;
  if (!map) {
    return h('section', {}, screenTitle(`Bản đồ ${hm.name}`, back),
      h('p', { class: 'card', id: 'map-empty' }, 'Chưa có ranh giới ấp và chưa hộ nào có tọa độ GPS. Hãy lấy vị trí khi đăng ký hộ hoặc khi thăm hộ.'));
  }

  const never = points.filter((p) => !p.visited).length;
  const drawing = svg('svg', { viewBox: `0 0 ${map.width} ${map.height}`, role: 'img', id: 'hamlet-map',
    'aria-label': `Bản đồ ${hm.name}: ${points.length} hộ có tọa độ, ${never} hộ chưa thăm` });
  if (map.path) drawing.append(svg('path', { d: map.path, class: 'map-area', 'fill-rule': 'evenodd' }));
  // Unvisited dots last, so they are drawn on top where houses crowd together.
  const dotsLayer = svg('g');
  for (const d of [...map.dots].sort((a, b) => Number(b.visited) - Number(a.visited))) {
    dotsLayer.append(svg('circle', { cx: d.x, cy: d.y, r: DOT_R, class: `map-dot ${d.visited ? 'visited' : 'never'}`, 'data-id': d.id }));
  }
  drawing.append(dotsLayer);
  const meLayer = svg('g');
  drawing.append(meLayer);

  let zoom = 1;
  const box = h('div', { class: 'map-box', id: 'map-box' }, drawing);
  const zoomBtn = button('Phóng to', () => {
    const cx = (box.scrollLeft + box.clientWidth / 2) / box.scrollWidth;
    const cy = (box.scrollTop + box.clientHeight / 2) / box.scrollHeight;
    zoom = zoom === 4 ? 1 : zoom * 2;
    box.className = `map-box zoom-${zoom}`;
    zoomBtn.textContent = zoom === 4 ? 'Thu nhỏ' : 'Phóng to';
    box.scrollLeft = cx * box.scrollWidth - box.clientWidth / 2;
    box.scrollTop = cy * box.scrollHeight - box.clientHeight / 2;
  }, { id: 'map-zoom' });

  drawing.addEventListener('click', (event) => {
    const ctm = drawing.getScreenCTM();
    if (!ctm) return;
    const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(ctm.inverse());
    const reach = TAP_PX / ctm.a; // CSS px → SVG units at the current zoom
    // An unvisited house wins a close call: that is what the member is looking for.
    const hit = nearest(map.dots, at.x, at.y, reach, (d) => !d.visited) || nearest(map.dots, at.x, at.y, reach);
    if (hit) go(`/household/${hit.id}`);
  });

  const found = h('div', { class: 'card', id: 'map-next', role: 'status', 'aria-live': 'polite', hidden: true });
  const nextBtn = button('Hộ chưa thăm gần tôi', async () => {
    nextBtn.disabled = true;
    found.hidden = false;
    found.replaceChildren(h('p', { class: 'muted' }, 'Đang lấy vị trí…'));
    try {
      const me = await currentLocation({ maxAgeMs: 0 });
      const at = map.project(me.lat, me.lon);
      meLayer.replaceChildren(svg('circle', { cx: at.x, cy: at.y, r: DOT_R + 1.5, class: 'map-me', id: 'map-me' }));
      let best = null;
      for (const p of points) {
        if (p.visited) continue;
        const m = distanceM(me, p);
        if (!best || m < best.m) best = { p, m };
      }
      for (const el of dotsLayer.querySelectorAll('.next')) el.classList.remove('next');
      if (!best) { found.replaceChildren(h('p', {}, 'Mọi hộ có tọa độ đều đã được thăm.')); return; }
      dotsLayer.querySelector(`[data-id="${CSS.escape(best.p.id)}"]`)?.classList.add('next');
      found.replaceChildren(
        h('p', { class: 'item-title' }, best.p.name),
        h('p', { class: 'item-sub' }, `${best.p.address} · cách khoảng ${formatDistance(best.m)}`),
        linkButton('Mở hộ này', `#/household/${best.p.id}`, { class: 'btn primary block', id: 'open-next' }));
    } catch (err) {
      found.replaceChildren(h('p', { class: 'error' }, err.message));
    } finally {
      nextBtn.disabled = false;
    }
  }, { id: 'map-find-next', class: 'btn primary' });

  return h('section', {},
    screenTitle(`Bản đồ ${hm.name}`, back),
    h('div', { class: 'map-legend', id: 'map-legend' },
      h('span', {}, h('i', { class: 'never' }), `Chưa thăm (${never})`),
      h('span', {}, h('i', { class: 'visited' }), `Đã thăm (${points.length - never})`),
      h('span', {}, h('i', { class: 'me' }), 'Tôi')),
    box,
    missing ? h('p', { class: 'muted', id: 'map-missing' }, `${missing} hộ chưa có tọa độ GPS (không hiện trên bản đồ).`) : null,
    h('p', { class: 'muted' }, 'Chạm vào một chấm để mở hộ.'),
    h('div', { class: 'row-buttons' }, nextBtn, zoomBtn),
    found);
}

function formatDistance(m) {
  return m < 1000 ? `${Math.round(m / 10) * 10} m` : `${(m / 1000).toFixed(1).replace('.', ',')} km`;
}
