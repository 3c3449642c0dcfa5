// Hash router: '#/hamlet/12' → the screen for '/hamlet/:id'. The hash never reaches the server, so
// every screen is served by the one cached app shell, online or not.

const routes = [];
let current = null;
let guard = async () => null;

/** Register a screen: `render(params, query)` returns a Node or `{node, cleanup}` (async allowed). */
export function route(pattern, render) {
  const names = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}$`);
  routes.push({ re, names, render });
}

/** `fn(path)` may return another path to redirect to (e.g. the login screen). */
export function setGuard(fn) {
  guard = fn;
}

/** Go to a path ('/sync'); `replace` keeps the back button from returning to a finished form. */
export function go(path, { replace = false } = {}) {
  if (replace) { history.replaceState(null, '', `#${path}`); render(); } else location.hash = path;
}

/**
 * New data arrived (a sync finished): a screen with its own `refresh()` updates in place (keeping
 * the search box and scroll); forms set `keepOnRefresh` so nothing the member is typing moves.
 */
export function refresh() {
  if (current?.refresh) current.refresh();
  else if (current && !current.keepOnRefresh) render({ soft: true });
}

export function startRouter(root) {
  window.addEventListener('hashchange', () => render());
  render.root = root;
  render();
}

async function render({ soft = false } = {}) {
  const root = render.root;
  const [path, qs = ''] = (location.hash.slice(1) || '/').split('?');
  const redirect = await guard(path);
  if (redirect && redirect !== path) { go(redirect, { replace: true }); return; }
  const query = Object.fromEntries(new URLSearchParams(qs));
  for (const { re, names, render: screen } of routes) {
    const m = path.match(re);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    const token = {};
    render.token = token;
    const out = await screen(params, query);
    if (render.token !== token) { out?.cleanup?.(); return; } // a newer navigation won the race
    await current?.cleanup?.();
    current = out instanceof Node ? { node: out } : out;
    root.replaceChildren(current.node);
    if (soft) return;
    // Move focus to the new heading so screen readers announce the screen.
    (root.querySelector('h1') || root).focus({ preventScroll: true });
    window.scrollTo(0, 0);
    return;
  }
  go('/', { replace: true });
}
