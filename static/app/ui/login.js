// Login screen. Logging in needs the network once; after that the app works offline. A member whose
// token expired logs in again here and the outbox, untouched, is pushed right after.
import { ApiError, NetworkError } from '../api.js';
import { getSession, login, outboxOwner } from '../session.js';
import { pullEvents } from '../pull.js';
import { syncNow } from '../scheduler.js';
import { requestPersistence } from '../sw-client.js';
import { h, field, setFieldError, screenTitle } from './dom.js';
import { go } from './router.js';

export async function loginScreen() {
  const session = await getSession();
  const owner = await outboxOwner();
  const username = h('input', { name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', value: session?.user?.username || owner || '' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const status = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, 'Đăng nhập');
  // The first pull of a big hamlet takes a while on a cheap phone: say how far it got.
  const bar = h('progress', { max: '1', id: 'pull-bar' });
  const barText = h('p', { class: 'muted', id: 'pull-text' });
  const progress = h('div', { class: 'pull-progress', role: 'status', 'aria-live': 'polite', hidden: true }, barText, bar);
  let early = false; // the list was shown before the pull ended
  const onProgress = ({ detail: { done, remaining, households } }) => {
    // A big hamlet: show its first households while the rest is still coming (the list says
    // so, and fills in as pages land) rather than keep the member on this screen.
    if (remaining > 0 && households > 0 && !early) {
      early = true;
      go('/', { replace: true });
    }
    const total = done + remaining;
    bar.max = String(Math.max(total, 1));
    bar.value = done;
    barText.textContent = `Đang tải dữ liệu: ${done.toLocaleString('vi-VN')} / ${total.toLocaleString('vi-VN')} bản ghi (${households.toLocaleString('vi-VN')} hộ)`;
  };

  const form = h('form', { novalidate: true, onSubmit: onSubmit },
    field('Tên đăng nhập', username, { required: true }),
    field('Mật khẩu', password, { required: true }),
    status,
    submit,
    progress);

  async function onSubmit(event) {
    event.preventDefault();
    setFieldError(username, username.value.trim() ? '' : 'Nhập tên đăng nhập');
    setFieldError(password, password.value ? '' : 'Nhập mật khẩu');
    if (!username.value.trim() || !password.value) return;
    status.textContent = '';
    submit.disabled = true;
    submit.textContent = 'Đang đăng nhập…';
    try {
      await login(username.value.trim(), password.value);
      password.value = '';
      // The member is about to keep unsent work here: ask now that storage is never evicted.
      requestPersistence();
      // First login: fetch the hamlets before showing them. Later logins: push what waited.
      submit.textContent = 'Đang tải dữ liệu…';
      barText.textContent = 'Đang tải dữ liệu của ấp…';
      bar.removeAttribute('value'); // indeterminate until the first page says how much is left
      progress.hidden = false;
      pullEvents.addEventListener('progress', onProgress);
      await syncNow('login', { fresh: true });
      if (!early) go('/', { replace: true });
    } catch (err) {
      status.textContent = message(err);
    } finally {
      pullEvents.removeEventListener('progress', onProgress);
      progress.hidden = true;
      submit.disabled = false;
      submit.textContent = 'Đăng nhập';
    }
  }

  const node = h('section', { class: 'login' },
    screenTitle('Đăng nhập'),
    h('p', { class: 'muted' }, 'Ứng dụng của Tổ Công nghệ số cộng đồng. Cần có mạng khi đăng nhập; sau đó dùng được cả khi mất mạng.'),
    owner ? h('p', { class: 'card' }, `Máy đang giữ dữ liệu chưa gửi của tài khoản “${owner}”.`) : null,
    form);
  // A sync finishing in the background must not re-render the form under the member's fingers.
  return { node, keepOnRefresh: true };
}

function message(err) {
  if (err.owner) return `Máy còn dữ liệu chưa gửi của “${err.owner}”. Hãy đăng nhập bằng tài khoản đó để gửi trước.`;
  if (err instanceof ApiError && err.status === 401) return 'Sai tên đăng nhập hoặc mật khẩu.';
  if (err instanceof ApiError && err.status === 429) return 'Thử quá nhiều lần. Vui lòng đợi một lát.';
  if (err instanceof NetworkError || !navigator.onLine) return 'Không có mạng. Cần kết nối để đăng nhập lần đầu.';
  return `Không đăng nhập được (${err.message}).`;
}
