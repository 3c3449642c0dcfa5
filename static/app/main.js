// Boot: open the database, register the service worker, wire the screens and start syncing.
import { getDB } from './db.js';
import { loadRules } from './rules-store.js';
import { events, startScheduler } from './scheduler.js';
import { getSession } from './session.js';
import { registerServiceWorker, requestPersistence } from './sw-client.js';
import { followupsScreen } from './ui/followups.js';
import { hamletMapScreen } from './ui/hamlet-map.js';
import { hamletsScreen, householdsScreen } from './ui/hamlets.js';
import { householdFormScreen } from './ui/household-form.js';
import { householdScreen } from './ui/household.js';
import { markTab, offerUpdate, refreshChrome } from './ui/layout.js';
import { loginScreen } from './ui/login.js';
import { residentFormScreen } from './ui/resident-form.js';
import { refresh, route, setGuard, startRouter } from './ui/router.js';
import { syncScreen } from './ui/sync-screen.js';
import { todayScreen } from './ui/today.js';
import { visitFormScreen } from './ui/visit-form.js';
import { visitViewScreen } from './ui/visit-view.js';

route('/login', loginScreen);
route('/', hamletsScreen);
route('/hamlet/:id', householdsScreen);
route('/hamlet/:id/map', hamletMapScreen);
route('/hamlet/:hid/new-household', householdFormScreen);
route('/household/:id', householdScreen);
route('/household/:id/edit', householdFormScreen);
route('/household/:hid/resident/new', residentFormScreen);
route('/resident/:id/edit', residentFormScreen);
route('/household/:id/visit', visitFormScreen);
route('/visit/:vid', visitViewScreen);
route('/visit/:vid/edit', visitFormScreen);
route('/followups', followupsScreen);
route('/today', todayScreen);
route('/sync', syncScreen);

// Without a session (never logged in, or logged out) only the login screen is open. An *expired*
// token is different: the member keeps working offline and a banner asks them to log in again.
setGuard(async (path) => {
  markTab(path);
  const session = await getSession();
  if ((!session || session.logged_out) && path !== '/login') return '/login';
  return null;
});

async function boot() {
  try {
    await getDB();
  } catch (err) {
    document.getElementById('view').replaceChildren(Object.assign(document.createElement('p'), {
      className: 'loading', textContent: 'Không mở được bộ nhớ của ứng dụng (IndexedDB). Hãy tắt chế độ ẩn danh hoặc giải phóng bộ nhớ máy.',
    }));
    throw err;
  }
  // The server's input rules as last fetched (the forms check with them offline too).
  await loadRules().catch((err) => console.error('stored rules unreadable', err));
  registerServiceWorker(offerUpdate);
  for (const name of ['online', 'offline']) window.addEventListener(name, () => refreshChrome());
  events.addEventListener('status', () => refreshChrome());
  events.addEventListener('data-changed', () => { refreshChrome(); refresh(); });
  events.addEventListener('auth-required', () => refreshChrome());
  startRouter(document.getElementById('view'));
  await refreshChrome();
  startScheduler();
  // Unsent work must not be evicted when the phone runs low on space. Chrome decides silently
  // (installed app, engagement); the sync screen shows the answer.
  if ((await getSession())?.token) requestPersistence().then(() => refreshChrome());
}

boot();
