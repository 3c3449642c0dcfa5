"""The field app (PWA) at hamlet scale, on a cheap phone: Debian's Chromium with its CPU slowed
4× (CDP ``Emulation.setCPUThrottlingRate``) at 390×844.

Builds a throwaway SQLite server (``flask db upgrade``, ``flask seed-demo``), then fills two
hamlets through the public push API (batches of 500 items, each household with its residents,
pushed by the hamlet's own member): ấp Bảo Định (demo.member) up to ``--households`` households
and 3× as many residents, and a second hamlet (a member made with ``flask users create``) up to
``--base-households``. Households get GPS points inside their hamlet's boundary. The server runs
in this process behind a WSGI wrapper that counts the bytes it sends (status line, headers, body
as compressed), so what the service worker fetches is counted too. It prints:

1. first start: bytes on the wire from opening ``/`` on a new phone until the service worker
   has cached the shell;
2. fresh login → first rows (the tap on "Đăng nhập" until the household list shows rows, the
   pull perhaps still storing pages) and → usable list (until it shows every household);
3. hamlet open (from another tab until the list's rows show, median of 5);
4. search latency: typing stopped (the last ``input`` event) → results shown (the summary and
   the rows drawn, next frame), debounce included, p50/p95 over ``--searches`` searches;

for each size, the ratios big/base, and whether each aim is met. Timings are printed, never
asserted. Correctness checks (the list shows every household; each search shows the count a
direct computation expects, with the target household among the rows) fail the run (exit 1).

    .venv/bin/python bench/pwa.py --small       # 60 and 20 households, 1 search: what the suite runs
    .venv/bin/python bench/pwa.py               # 2,000 and 200 households, 20 searches
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from pwa_world import PASSWORD, SMALL_USER, fill_hamlet, search_cases, start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
TYPING_MS = 120  # between keystrokes: a quick thumb on a phone keyboard
AIMS = {"first_start_kb": 100, "search_p95_ms": 150, "hamlet_open_ms": 1000, "login_ms": 5000,
        "ratio": 3.0}

FAILURES = []


def check(ok, what):
    print(f"  check {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILURES.append(what)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--households", type=int, default=2000)
    p.add_argument("--base-households", type=int, default=200)
    p.add_argument("--residents-per-household", type=int, default=3)
    p.add_argument("--searches", type=int, default=20)
    p.add_argument("--opens", type=int, default=5)
    p.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown (CDP)")
    p.add_argument("--small", action="store_true", help="60 and 20 households, 1 search")
    args = p.parse_args(argv)
    if args.small:
        args.households, args.base_households, args.searches, args.opens = 60, 20, 1, 1
    return args


# --- the phone -------------------------------------------------------------------------------

WAIT_ROWS = """async (expected) => {
  const t0 = performance.now();
  await new Promise((resolve) => {
    const ok = () => document.querySelector('#household-list li a') && document.querySelector('p.muted[role=status]')?.textContent === expected;
    const tick = () => (ok() ? resolve() : requestAnimationFrame(tick));
    tick();
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""

OPEN_HAMLET = """async ([hash, expected]) => {
  const t0 = performance.now();
  location.hash = hash;
  await new Promise((resolve) => {
    const ok = () => document.querySelector('#hh-search') && document.querySelector('#household-list li a') && document.querySelector('p.muted[role=status]')?.textContent === expected;
    const tick = () => (ok() ? resolve() : requestAnimationFrame(tick));
    tick();
  });
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""

ARM_SEARCH = """([query, expected]) => {
  const input = document.querySelector('#hh-search');
  const summary = document.querySelector('p.muted[role=status]');
  window.__bench = { last: 0, done: null };
  input.addEventListener('input', () => { window.__bench.last = performance.now(); });
  const obs = new MutationObserver(() => {
    if (input.value !== query || summary.textContent !== expected || window.__bench.done) return;
    const shownAt = performance.now();
    window.__bench.done = shownAt;
    obs.disconnect();
    requestAnimationFrame(() => { window.__bench.painted = performance.now(); });
  });
  obs.observe(summary, { childList: true, characterData: true, subtree: true });
}"""


def throttled_page(context, cpu):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    return page, errors


def wait_shell_cached(page, timeout=60):
    deadline = time.monotonic() + timeout
    while not page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        if (!reg?.active || reg.installing || reg.waiting) return false;
        const names = (await caches.keys()).filter((n) => n.startsWith('cnscd-shell-'));
        return names.length === 1;
    }"""):
        assert time.monotonic() < deadline, "the service worker never cached the shell"
        page.wait_for_timeout(100)


def first_start_bytes(browser, base, counter, cpu):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", base_url=base)
    page, _ = throttled_page(context, cpu)
    before, heads, requests = counter.sent, counter.heads, counter.requests
    counter.by_path.clear()
    counter.statuses.clear()
    page.goto("/")
    page.wait_for_selector("input[name=username]")
    wait_shell_cached(page)
    page.wait_for_timeout(500)  # anything still in flight
    sent = counter.sent - before
    print(f"  first start: {counter.requests - requests} responses, {(counter.heads - heads) / 1024:.1f} KB of "
          f"status lines and headers, {(sent - counter.heads + heads) / 1024:.1f} KB of bodies")
    if os.environ.get("BENCH_VERBOSE"):
        for path, n in sorted(counter.by_path.items(), key=lambda kv: -kv[1]):
            print(f"    {n:7d} {path}")
        print("    responses: " + ", ".join(f"{k} ×{v}" for k, v in sorted(counter.statuses.items()) if v > 1 or not k.endswith(" 200")))
    context.close()
    return sent


def run_size(browser, base, username, hamlet_id, households, cases, args):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", base_url=base)
    context.set_default_timeout(120000)
    page, errors = throttled_page(context, args.cpu)
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    total = f"{len(households)} hộ"
    t0 = time.perf_counter()
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_selector("#household-list li a")
    first_ms = (time.perf_counter() - t0) * 1000
    page.evaluate(WAIT_ROWS, total)
    login_ms = (time.perf_counter() - t0) * 1000
    shown = page.locator("p.muted[role=status]").text_content()
    check(shown == total, f"{username}: the list shows every household ({shown!r} == {total!r})")

    opens = []
    for _ in range(args.opens):
        page.evaluate("location.hash = '#/sync'")
        page.wait_for_selector("#household-list", state="detached")
        page.wait_for_timeout(300)
        opens.append(page.evaluate(OPEN_HAMLET, [f"#/hamlet/{hamlet_id}", total]))

    searches = []
    for query, hid, expected in cases:
        page.fill("#hh-search", "")
        page.evaluate(WAIT_ROWS, total)
        page.wait_for_timeout(200)
        want = f"Tìm thấy {expected} / {len(households)} hộ"
        page.evaluate(ARM_SEARCH, [query, want])
        page.type("#hh-search", query, delay=TYPING_MS)
        deadline = time.monotonic() + 30
        while not page.evaluate("window.__bench.painted"):
            if time.monotonic() > deadline:
                break
            page.wait_for_timeout(20)
        got = page.evaluate("({ last: window.__bench.last, painted: window.__bench.painted })")
        shown = page.locator("p.muted[role=status]").text_content()
        row = page.locator(f'#household-list a[data-id="{hid}"]').count()
        row_ok = row == 1 or expected > 10
        check(shown == want and row_ok, f"{username}: search {query!r} shows {want!r}"
              f"{' with its household' if expected <= 10 else ''} ({shown!r}, row {row})")
        if got["painted"]:
            searches.append(got["painted"] - got["last"])
    check(not errors, f"{username}: no uncaught errors in the page {errors[:2]}")
    context.close()
    return {"login": login_ms, "first": first_ms, "open": statistics.median(opens) if opens else None,
            "search": searches}


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main(argv=None):
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    rng = random.Random(2013)
    with tempfile.TemporaryDirectory(prefix="bench-pwa-") as tmpdir:
        tmp = Path(tmpdir)
        t = time.perf_counter()
        app, counter, base, httpd = start_server(tmp)
        client = app.test_client()
        big = fill_hamlet(client, "demo.member", args.households, args.residents_per_household, rng)
        small = fill_hamlet(client, SMALL_USER, args.base_households, args.residents_per_household, rng)
        print(f"# PWA bench: {len(big[1])} households / {len(big[2])} residents vs "
              f"{len(small[1])} / {len(small[2])}, CPU {args.cpu:g}× slower, {PHONE['width']}×{PHONE['height']}"
              f" (data ready in {time.perf_counter() - t:.0f} s)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first = first_start_bytes(browser, base, counter, args.cpu)
            results = {}
            for label, user, (hid, households, residents) in (("big", "demo.member", big), ("base", SMALL_USER, small)):
                cases = search_cases(households, residents, args.searches, rng)
                results[label] = run_size(browser, base, user, hid, households, cases, args)
            browser.close()
        httpd.shutdown()

    b, s = results["big"], results["base"]
    rows = [
        ("first start, bytes on the wire", f"{first / 1024:.1f} KB", "", None, first / 1024 <= AIMS["first_start_kb"], f"<= {AIMS['first_start_kb']} KB"),
        ("fresh login -> first rows shown", f"{b['first']:.0f} ms", f"{s['first']:.0f} ms", b["first"] / s["first"], None, ""),
        ("fresh login -> usable list", f"{b['login']:.0f} ms", f"{s['login']:.0f} ms", b["login"] / s["login"], b["login"] <= AIMS["login_ms"], f"<= {AIMS['login_ms']} ms"),
        ("hamlet open (median)", f"{b['open']:.0f} ms", f"{s['open']:.0f} ms", b["open"] / s["open"], b["open"] <= AIMS["hamlet_open_ms"], f"<= {AIMS['hamlet_open_ms']} ms"),
        ("search p50", f"{pct(b['search'], .5):.0f} ms", f"{pct(s['search'], .5):.0f} ms", pct(b['search'], .5) / pct(s['search'], .5), None, ""),
        ("search p95", f"{pct(b['search'], .95):.0f} ms", f"{pct(s['search'], .95):.0f} ms", pct(b['search'], .95) / pct(s['search'], .95), pct(b['search'], .95) <= AIMS["search_p95_ms"], f"<= {AIMS['search_p95_ms']} ms"),
    ]
    print(f"\n{'measure':34} {len(big[1]):>6} hh {len(small[1]):>6} hh  ratio  aim")
    for name, vb, vs, ratio, met, aim in rows:
        ratio_txt = f"{ratio:5.2f}" if ratio is not None else "     "
        ratio_ok = "" if ratio is None else (" ratio<=3: " + ("met" if ratio <= AIMS["ratio"] else "NOT met"))
        aim_txt = "" if met is None else f" {aim}: {'met' if met else 'NOT met'}"
        print(f"{name:34} {vb:>9} {vs:>9}  {ratio_txt}{aim_txt}{ratio_ok}")
    print(f"searches: {len(b['search'])} + {len(s['search'])}; typing stopped -> results painted, debounce included")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    if FAILURES:
        print(f"checks: {len(FAILURES)} FAILED")
        return 1
    print("checks: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
