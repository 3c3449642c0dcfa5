// Tiny DOM helpers instead of a framework: a cheap phone parses and runs these in a few milliseconds.

/**
 * Create an element. `props`: `class`, `text`, `on<Event>` handlers, `dataset`, boolean attributes
 * (true/false), anything else as an attribute. Children: nodes, strings, arrays, null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children; like `h`, skips null/false and flattens arrays. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
/** A unique id for label/input pairs. */
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

/**
 * A labelled form field. `input` is an element (input/select/textarea) or props for an <input>.
 * `error` placeholder is linked with aria-describedby so screen readers read the message.
 */
export function field(label, input, { hint, required } = {}) {
  const control = input instanceof Node ? input : h('input', input);
  const id = control.id || uid();
  control.id = id;
  const errId = `${id}-err`;
  control.setAttribute('aria-describedby', errId);
  if (required) control.required = true;
  return h('div', { class: 'field' },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    hint ? h('p', { class: 'hint' }, hint) : null,
    h('p', { class: 'error', id: errId, role: 'alert' }));
}

/** Show (or clear, with '') an error under a field created by `field()`. */
export function setFieldError(control, message) {
  const box = document.getElementById(`${control.id}-err`);
  if (box) box.textContent = message || '';
  control.setAttribute('aria-invalid', message ? 'true' : 'false');
}

/** A <select> from `[value, label]` pairs. */
export function select(name, options, value, props = {}) {
  return h('select', { name, ...props },
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)));
}

/** A big button. */
export function button(label, onClick, props = {}) {
  return h('button', { type: 'button', class: 'btn', onClick, ...props }, label);
}

/** A link that looks like a button. */
export function linkButton(label, href, props = {}) {
  return h('a', { class: 'btn', href, ...props }, label);
}

let toastTimer = null;
/**
 * A short message just above the tab bar (never over the screen's title), read out by screen
 * readers; it goes after 3 s or when tapped.
 */
export function toast(message) {
  const box = document.getElementById('toast');
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  box.onclick = () => { box.hidden = true; };
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3000);
}

/** A screen's heading row with an optional back link. */
export function screenTitle(title, backHref) {
  return h('div', { class: 'screen-title' },
    backHref ? h('a', { class: 'back', href: backHref, 'aria-label': 'Quay lại' }, '‹') : null,
    h('h1', { tabindex: '-1' }, title));
}
