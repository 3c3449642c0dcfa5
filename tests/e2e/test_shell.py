"""The installable shell: payload budget, manifest and icons, the service worker's update flow,
diacritics folding, and an expired session that keeps the outbox."""
import gzip
import json
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import REPO
from tests.e2e.helpers import counts, login, record_visit, shot, wait_counts

STATIC = REPO / "static"
BUDGET = 300 * 1024


def _sw():
    return (STATIC / "sw.js").read_text(encoding="utf-8")


def _shell():
    block = re.search(r"const SHELL = \[(.*?)\];", _sw(), re.S).group(1)
    return re.findall(r"'([^']+)'", block)


def _file(url):
    return STATIC / "index.html" if url == "/" else STATIC / url.lstrip("/")


def test_first_load_fits_in_300_kb_gzip():
    """Everything the service worker caches (= the whole first load) sums to under 300 KB gzipped."""
    shell = _shell()
    assert "/" in shell and "/app/main.js" in shell
    total = sum(len(gzip.compress(_file(u).read_bytes(), compresslevel=9)) for u in shell) + \
        len(gzip.compress((STATIC / "sw.js").read_bytes(), compresslevel=9))
    assert total < BUDGET, f"first load is {total / 1024:.1f} KB gzip"


def test_shell_lists_every_module_and_nothing_missing():
    """A module missing from SHELL would break the app offline; a listed file missing breaks install."""
    shell = set(_shell())
    for url in shell:
        assert _file(url).is_file(), url
    # The office console's files (static/office/) belong to desktop pages, not the phone's shell.
    modules = {"/" + p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js")
               if p.name != "sw.js" and p.relative_to(STATIC).parts[0] != "office"}
    assert modules <= shell, sorted(modules - shell)
    assert re.search(r"^const VERSION = '[^']+';$", _sw(), re.M)


def test_manifest_is_installable_and_vietnamese():
    m = json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert m["display"] == "standalone" and m["start_url"] == "/" and m["lang"] == "vi"
    assert "Công nghệ số cộng đồng" in m["name"]
    sizes = {}
    for icon in m["icons"]:
        with Image.open(_file(icon["src"])) as img:
            assert f"{img.width}x{img.height}" == icon["sizes"]
        sizes.setdefault(icon.get("purpose", "any"), []).append(icon["sizes"])
    assert {"192x192", "512x512"} <= set(sizes["any"]) and sizes["maskable"] == ["512x512"]


@pytest.mark.e2e
def test_manifest_served_with_its_type(page):
    response = page.request.get("/manifest.webmanifest")
    assert response.ok and response.headers["content-type"].startswith("application/manifest+json")


@pytest.mark.e2e
def test_folding_finds_names_typed_without_tones(page):
    page.goto("/")
    result = page.evaluate("""import('/app/fold.js').then(({ fold, matcher, searchKey }) => ({
        folded: fold('Nguyễn Văn Ánh ĐỖ Thị Đào'),
        hit: matcher('nguyen van a')(searchKey('Nguyễn Văn A')),
        dd: matcher('do thi dao')(searchKey('Đỗ Thị Đào')),
        prefix: matcher('an')(searchKey('Xuân Lộc')),
        order: matcher('a nguyen')(searchKey('Nguyễn Văn A')),
    }))""")
    assert result == {"folded": "nguyen van anh do thi dao", "hit": True, "dd": True, "prefix": False, "order": True}


@pytest.mark.e2e
def test_new_version_banner_reloads_and_drops_old_caches(page):
    login(page)
    # The server fills in the version: a hash of the shell's files (server/web/shell.py).
    version = re.search(r"^const VERSION = '([^']+)';$", page.request.get("/sw.js").text(), re.M).group(1)
    current = page.evaluate("caches.keys()")
    assert current == [f"cnscd-shell-{version}"]
    # A cache left by an older version, which the next activation must delete.
    page.evaluate("caches.open('cnscd-shell-v0').then((c) => c.put('/x', new Response('old')))")
    # A new worker script, as after a deploy. (Playwright cannot route the browser's own fetch of
    # the worker script, so a new script URL stands in for new bytes: both make an update.)
    page.evaluate("navigator.serviceWorker.register('/sw.js?deploy=2', { type: 'module', scope: '/' })")
    button = page.get_by_role("button", name="Có phiên bản mới — tải lại")
    expect(button).to_be_visible(timeout=20000)
    shot(page, "13-update-available")
    with page.expect_event("load"):
        button.click()
    page.wait_for_selector("#household-list li")
    page.wait_for_function("navigator.serviceWorker.controller?.scriptURL.endsWith('?deploy=2')")
    page.wait_for_function("caches.keys().then((k) => !k.includes('cnscd-shell-v0'))")
    assert page.evaluate("caches.keys()") == current


@pytest.mark.e2e
def test_expired_token_keeps_the_outbox_until_the_member_logs_in_again(context, page, api):
    login(page)
    page.locator("#household-list li a").nth(3).click()
    page.wait_for_selector("#record-visit")
    context.set_offline(True)
    record_visit(page, notes="Ghi khi phiên sắp hết hạn")
    # The token is revoked on the server (as an admin would, or as expiry does).
    token = page.evaluate("import('/app/session.js').then((m) => m.getSession()).then((s) => s.token)")
    assert api.call("DELETE", "/auth/token", token)[0] in (200, 204)
    context.set_offline(False)
    banner = page.get_by_text("Phiên đăng nhập đã hết hạn", exact=False)
    expect(banner).to_be_visible(timeout=30000)
    assert counts(page)["pending"] == 1  # 401: nothing wiped
    shot(page, "14-session-expired")
    page.locator("#banners").get_by_role("link", name="Đăng nhập").click()
    page.get_by_label("Mật khẩu").fill("demo-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    wait_counts(page, timeout=30, pending=0, rejected=0, conflict=0)
