// The frame around every screen: network status, who is logged in, the pending badge, the banners
// ("new version", "session expired") and which tab is active.
import { errorCount, outboxCounts } from '../outbox.js';
import { getSession } from '../session.js';
import { state as syncState } from '../scheduler.js';
import { h, button, linkButton } from './dom.js';

let updateApply = null;

/** Update everything in the frame; cheap enough to call after every sync or save. */
export async function refreshChrome() {
  const net = document.getElementById('net');
  const online = navigator.onLine;
  net.textContent = !online ? 'Ngoại tuyến' : syncState.running ? 'Đang đồng bộ…' : 'Trực tuyến';
  net.classList.toggle('offline', !online);

  const session = await getSession();
  const user = session?.user;
  const userBox = document.getElementById('user');
  userBox.textContent = user && !session.logged_out ? user.display_name || user.username : '';
  userBox.title = userBox.textContent;

  const counts = { ...(await outboxCounts()), error: await errorCount() };
  const waiting = counts.pending + counts.rejected + counts.conflict + counts.error + counts.photos;
  const badge = document.getElementById('badge');
  badge.hidden = waiting === 0;
  badge.textContent = String(waiting);
  badge.setAttribute('aria-label', `${waiting} mục chờ gửi`);
  renderBanners(session, counts);
}

function renderBanners(session, counts) {
  const box = document.getElementById('banners');
  const banners = [];
  if (updateApply) {
    banners.push(h('div', { class: 'banner update' },
      button('Có phiên bản mới — tải lại', () => updateApply(), { class: 'btn primary', id: 'update-btn' })));
  }
  if (session && !session.token && !session.logged_out) {
    const n = counts.pending + counts.photos;
    banners.push(h('div', { class: 'banner error' },
      h('p', {}, `Phiên đăng nhập đã hết hạn.${n ? ` ${n} mục vẫn được giữ trên máy, đăng nhập lại để gửi.` : ''}`),
      linkButton('Đăng nhập', '#/login', { class: 'btn primary' })));
  }
  const attention = [
    counts.conflict ? `${counts.conflict} xung đột` : '',
    counts.rejected ? `${counts.rejected} mục bị từ chối` : '',
    counts.error ? `${counts.error} mục máy chủ gặp lỗi` : '',
  ].filter(Boolean);
  if (attention.length) {
    banners.push(h('div', { class: 'banner error' },
      h('p', {}, `${attention.join(', ')} cần xử lý.`),
      linkButton('Xem', '#/sync', { class: 'btn' })));
  }
  box.replaceChildren(...banners);
}

/** A new service worker is waiting: show the "reload" banner; `apply` activates it. */
export function offerUpdate(apply) {
  updateApply = apply;
  refreshChrome();
}

/** Highlight the tab of the current screen. */
export function markTab(path) {
  const tab = path.startsWith('/sync') ? 'sync' : path.startsWith('/followups') ? 'followups' : 'home';
  for (const a of document.querySelectorAll('.tabbar a')) {
    const active = a.dataset.tab === tab;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.querySelector('.tabbar').hidden = path === '/login';
}
