// Sync screen: what waits, when we last synced, errors, and the conflicts/rejections to resolve.
import { getDB } from '../db.js';
import { allItems, discard, keepMine, retry, retryAll, useServer } from '../outbox.js';
import { STATES, TYPES, formatTime } from '../labels.js';
import { getSession, logout } from '../session.js';
import { state as schedState, syncNow } from '../scheduler.js';
import { syncStatus } from '../sync.js';
import { isPersisted, requestPersistence } from '../sw-client.js';
import { dropPhoto, retryPhoto } from '../upload.js';
import { fill, h, button, linkButton, screenTitle, toast } from './dom.js';
import { go } from './router.js';
import { diffTable, errorList, failureText, headNames, itemTitle } from './sync-items.js';

export async function syncScreen() {
  const node = h('section', {});
  let heads = new Map();
  async function load() {
    const [items, status, session, photos, persisted, estimate, hamletRows, householdRows] = await Promise.all([
      allItems(), syncStatus(), getSession(), getDB().then((db) => db.getAll('photos')), isPersisted(),
      navigator.storage?.estimate?.().catch(() => null), getDB().then((db) => db.getAll('hamlets')),
      getDB().then((db) => db.getAll('households')),
    ]);
    const hamletNames = Object.fromEntries(hamletRows.map((row) => [row.id, row.name]));
    heads = headNames(householdRows, items);
    const by = (s) => items.filter((i) => i.state === s);
    const pending = by('pending');
    const conflicts = by('conflict');
    const rejected = by('rejected');
    const setAside = by('error');
    const failedPhotos = photos.filter((p) => p.state === 'failed');
    // A photo names its visit's household too.
    const db = await getDB();
    const photoHouseholds = new Map();
    for (const p of failedPhotos) photoHouseholds.set(p.id, (await db.get('visits', p.visit_id))?.household_id);
    const stat = (n, label, id) => h('div', { class: 'stat', id }, h('b', {}, String(n)), label);
    // Offline a tap could only fail: the button waits for a network (the sync starts by itself then).
    const runBtn = button(schedState.running ? 'Đang đồng bộ…' : navigator.onLine ? 'Đồng bộ ngay' : 'Đồng bộ ngay (cần có mạng)', onSync,
      { class: 'btn primary block', id: 'sync-now', disabled: schedState.running || !session?.token || !navigator.onLine });

    fill(node, 
      screenTitle('Đồng bộ'),
      h('div', { class: 'stats' },
        stat(pending.length, 'Chờ gửi', 'stat-pending'),
        stat(photos.length - failedPhotos.length, 'Ảnh chờ gửi', 'stat-photos'),
        stat(conflicts.length + rejected.length + setAside.length + failedPhotos.length, 'Cần xử lý', 'stat-attention')),
      h('div', { class: 'card', id: 'sync-status' },
        h('p', {}, 'Lần đồng bộ gần nhất: ', h('b', { id: 'last-sync' }, status.last_sync_at ? formatTime(status.last_sync_at) : 'chưa có')),
        status.last_error ? h('p', { class: 'error', id: 'last-error' }, `Lỗi lúc ${formatTime(status.last_error.at)}: ${status.last_error.message}. Sẽ tự thử lại; dữ liệu vẫn giữ trên máy.`) : null,
        schedState.nextAttemptAt ? h('p', { class: 'muted' }, `Thử lại lúc ${formatTime(new Date(schedState.nextAttemptAt).toISOString())}`) : null,
        navigator.onLine ? null : h('p', { class: 'muted' }, 'Đang ngoại tuyến: sẽ tự gửi khi có mạng.'),
        session?.token ? null : h('p', {}, linkButton('Đăng nhập để đồng bộ', '#/login', { class: 'btn' }))),
      runBtn,

      conflicts.length ? h('h2', {}, `Xung đột (${conflicts.length})`) : null,
      h('p', { class: 'hint' }, conflicts.length ? 'Người khác đã sửa bản ghi này trên máy chủ. Chọn bản muốn giữ.' : ''),
      h('ul', { class: 'list', id: 'conflict-list' }, conflicts.map((item) => h('li', { class: 'card conflict-item', dataset: { id: item.id } },
        title(item, STATES.conflict),
        diffTable(item, hamletNames),
        h('div', { class: 'actions' },
          button('Giữ bản của tôi', () => act(keepMine(item.seq), 'Sẽ gửi bản của bạn.'), { class: 'btn primary keep-mine' }),
          button('Dùng bản trên máy chủ', () => act(useServer(item.seq), 'Đã dùng bản trên máy chủ.'), { class: 'btn use-server' }),
          fixLink(item))))),

      rejected.length ? h('h2', {}, `Bị từ chối (${rejected.length})`) : null,
      h('ul', { class: 'list', id: 'rejected-list' }, rejected.map((item) => h('li', { class: 'card rejected-item' },
        title(item, STATES.rejected),
        errorList(item.errors, item.codes),
        actions(item)))),

      setAside.length ? h('h2', {}, `Máy chủ gặp lỗi (${setAside.length})`) : null,
      setAside.length ? h('p', { class: 'hint' }, 'Máy chủ gặp lỗi mỗi lần nhận các mục này nên chúng được để riêng; các mục khác vẫn được gửi. Dữ liệu vẫn giữ trên máy: sửa rồi lưu, hoặc bấm “Gửi lại” sau khi máy chủ được khắc phục.') : null,
      setAside.length > 1 ? button('Gửi lại tất cả', () => act(retryAll('error'), 'Sẽ gửi lại.'), { class: 'btn', id: 'retry-errors' }) : null,
      h('ul', { class: 'list', id: 'error-list' }, setAside.map((item) => h('li', { class: 'card error-item', dataset: { id: item.id } },
        title(item, STATES.error),
        h('p', { class: 'error' }, failureText(item.failure)),
        item.failure?.at ? h('p', { class: 'muted' }, `Để riêng lúc ${formatTime(item.failure.at)}`) : null,
        actions(item)))),

      failedPhotos.length ? h('h2', {}, `Ảnh không gửi được (${failedPhotos.length})`) : null,
      h('ul', { class: 'list' }, failedPhotos.map((p) => h('li', { class: 'card' },
        h('div', { class: 'item-title' }, `Ảnh lượt thăm hộ ${heads.get(photoHouseholds.get(p.id)) || 'chưa rõ'}`),
        h('p', {}, p.error || 'Lỗi'),
        h('div', { class: 'actions' },
          button('Gửi lại', () => act(retryPhoto(p.id), 'Sẽ gửi lại ảnh.')),
          button('Bỏ ảnh', () => confirm('Bỏ ảnh này?') && act(dropPhoto(p.id), 'Đã bỏ ảnh.'), { class: 'btn danger' }))))),

      h('details', { class: 'card' }, h('summary', {}, `Danh sách chờ gửi (${pending.length})`),
        h('ul', { class: 'list', id: 'pending-list' }, pending.map((item) => h('li', {}, h('div', { class: 'item' },
          h('div', {}, itemTitle(item, heads)), h('div', { class: 'item-sub' }, `${TYPES[item.type]} · lưu lúc ${formatTime(item.updated_at)}`)))))),

      h('h2', {}, 'Lưu trữ trên máy'),
      h('div', { class: 'card', id: 'storage' },
        h('p', {}, 'Lưu trữ bền vững: ', h('b', { id: 'persist-state' }, persisted == null ? 'trình duyệt không hỗ trợ' : persisted ? 'Đã được cấp' : 'Chưa được cấp')),
        persisted ? null : h('p', { class: 'hint' }, 'Chưa được cấp: trình duyệt có thể xoá dữ liệu khi máy đầy bộ nhớ. Hãy cài ứng dụng ra màn hình chính và gửi dữ liệu thường xuyên.'),
        estimate ? h('p', { class: 'muted' }, `Đang dùng ${(estimate.usage / 1048576).toFixed(1)} MB`) : null,
        persisted === false ? button('Yêu cầu lưu trữ bền vững', async () => { await requestPersistence(); load(); }) : null),

      h('h2', {}, 'Tài khoản'),
      h('div', { class: 'card' },
        h('p', {}, session?.user ? `${session.user.display_name || session.user.username} (${session.user.username})` : 'Chưa đăng nhập'),
        h('p', { class: 'hint' }, 'Đăng xuất không xoá dữ liệu chưa gửi.'),
        button('Đăng xuất', onLogout, { class: 'btn danger', id: 'logout' })),
    );
  }

  /** The item's title, naming its household, linked to the household's page when it is on the phone. */
  function title(item, state) {
    const hid = item.type === 'household' ? item.id : item.data?.household_id;
    const text = itemTitle(item, heads);
    return h('div', { class: 'item-title' }, heads.has(hid) ? h('a', { href: `#/household/${hid}` }, text) : text,
      h('span', { class: `tag ${item.state}` }, state));
  }

  /** Open the record's form to correct it; saving puts it back in line. */
  function fixLink(item) {
    const href = { household: `#/household/${item.id}/edit`, resident: `#/resident/${item.id}/edit`, visit: `#/visit/${item.id}/edit` }[item.type];
    return href ? linkButton('Sửa', href, { class: 'btn fix-item' }) : null;
  }

  /** Fix, send again or drop a rejected or set-aside item. */
  function actions(item) {
    return h('div', { class: 'actions' },
      fixLink(item),
      button('Gửi lại', () => act(retry(item.seq), 'Sẽ gửi lại.')),
      button('Bỏ', () => confirm('Bỏ hẳn mục này? Dữ liệu của mục sẽ bị xoá khỏi máy.') && act(discard(item.seq), 'Đã bỏ.'), { class: 'btn danger' }));
  }

  async function onSync() {
    const result = await syncNow('manual', { fresh: true });
    if (result.ok) toast('Đồng bộ xong.');
    else if (result.auth) toast('Cần đăng nhập lại.');
    else if (!result.skipped) toast('Chưa đồng bộ được. Sẽ tự thử lại.');
  }

  async function act(promise, message) {
    await promise;
    toast(message);
    await load();
    if (navigator.onLine) syncNow('resolved');
  }

  async function onLogout() {
    await logout();
    go('/login', { replace: true });
  }

  await load();
  const onNetwork = () => load();
  window.addEventListener('online', onNetwork);
  window.addEventListener('offline', onNetwork);
  return {
    node,
    refresh: load,
    cleanup: () => { window.removeEventListener('online', onNetwork); window.removeEventListener('offline', onNetwork); },
  };
}
