// A list that puts in the page only the rows near the screen: a cheap phone lays out 15 rows in
// a few milliseconds, 2,000 in seconds. Rows have one fixed height (measured on the first row;
// CSS keeps each row's lines from wrapping), the page itself scrolls (no inner scroll box), and
// short lists (up to FLAT rows) are drawn whole in normal flow, so they look as before.

const FLAT = 60;
const OVERSCAN = 8; // rows drawn beyond each edge of the screen, so a fling shows no blank

/**
 * `box` is the <ul>; `renderRow(item)` returns its <li>. Returns `{show(items), destroy()}`;
 * call `destroy()` when the screen goes.
 */
export function virtualList(box, renderRow) {
  let items = [];
  let rowHeight = 0;
  let drawn = '';
  let frame = 0;

  function measure() {
    if (rowHeight || !items.length) return;
    const probe = renderRow(items[0]);
    box.replaceChildren(probe);
    rowHeight = probe.getBoundingClientRect().height || 0;
  }

  function paint() {
    frame = 0;
    if (items.length <= FLAT) return;
    measure();
    if (!rowHeight) return; // not in the page yet: show() paints again once attached
    const top = box.getBoundingClientRect().top;
    const first = Math.max(0, Math.floor(-top / rowHeight) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((window.innerHeight - top) / rowHeight) + OVERSCAN);
    const key = `${first}:${last}`;
    if (key === drawn) return;
    drawn = key;
    const rows = [];
    for (let i = first; i < last; i += 1) {
      const li = renderRow(items[i]);
      li.style.transform = `translateY(${i * rowHeight}px)`;
      rows.push(li);
    }
    box.replaceChildren(...rows);
  }

  const onScroll = () => { if (!frame) frame = requestAnimationFrame(paint); };
  // A turned phone or a bigger font changes the rows' height: measure again.
  const onResize = () => { if (items.length > FLAT && box.isConnected) { rowHeight = 0; api.show(items); } };
  window.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('resize', onResize, { passive: true });

  let gone = false;
  const api = {
    show(next, tries = 0) {
      items = next;
      drawn = '';
      const virtual = items.length > FLAT;
      box.classList.toggle('vlist', virtual && box.isConnected);
      box.style.height = '';
      if (!virtual) { box.replaceChildren(...items.map(renderRow)); return; }
      if (!box.isConnected) {
        // Before the router puts the screen in the page nothing can be measured: draw the top
        // rows in normal flow (what the member sees first) and go virtual on the next frame.
        box.replaceChildren(...items.slice(0, 20).map(renderRow));
        if (!gone && tries < 120) requestAnimationFrame(() => { if (!gone && items === next) api.show(next, tries + 1); });
        return;
      }
      measure();
      box.style.height = `${items.length * rowHeight}px`;
      paint();
    },
    destroy() {
      gone = true;
      window.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onResize);
      cancelAnimationFrame(frame);
    },
  };
  return api;
}
