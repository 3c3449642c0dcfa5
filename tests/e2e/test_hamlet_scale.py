"""Issue 11, points 9 and 12, at 390×844: a hamlet of a few hundred households.

The hamlet is ấp 30 of the demo, filled through the push API by a member the admin console
creates, so the other tests' hamlet (ấp Bảo Định) keeps its dozen households.

- Point 9: the first pull shows its progress, then the list of what came so far, growing as the
  pages land; the long list keeps only the rows near the screen
  (and still reaches the last one); the search finds households by head and by resident names.
- Point 12: the hamlet map draws the boundary and a dot per household with GPS; tapping a dot
  opens the household; a visit turns its dot from red to green; "Hộ chưa thăm gần tôi" names
  the nearest unvisited household from the phone's GPS.
"""
import random
import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.helpers import current_id, shot, wait_for_service_worker

pytestmark = pytest.mark.e2e

USER = "e2e.scale"
TEAM = 30
COUNT = 520  # with a resident each, over 1,000 changes: the first pull takes two pages
TARGET_HEAD = "Lò Thị Ngọc Điệp"
TARGET_RESIDENT = "Quàng Văn Bảy"


@pytest.fixture(scope="module")
def hamlet(browser, server, api):
    """Create the member (admin console), fill their hamlet through the API; its facts."""
    from shapely.geometry import Point, shape

    desk = browser.new_context(base_url=server)
    page = desk.new_page()
    page.goto("/admin/login")
    page.get_by_label("Tên đăng nhập").fill("demo.admin")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/users/new?team={TEAM}")
    page.get_by_label("Tên đăng nhập").fill(USER)
    page.get_by_label("Họ và tên").fill("Thành viên Ấp Đông")
    page.get_by_label("Mật khẩu ban đầu").fill(PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.locator(".notice")).to_contain_text(f"Đã tạo tài khoản {USER}")
    desk.close()

    token = api.token(USER)
    changes = api.pull_all(token)
    (data,) = [c["data"] for c in changes.values() if c["type"] == "hamlet"]
    area = shape(data["boundary"])
    minx, miny, maxx, maxy = area.bounds
    rng = random.Random(30)
    items, spots = [], {}
    for n in range(COUNT):
        while not area.contains(p := Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))):
            pass
        hid = str(uuid.uuid4())
        head = TARGET_HEAD if n == COUNT // 2 else f"Hộ Thử {n:03d}"
        spots[hid] = (round(p.y, 6), round(p.x, 6))
        items.append({"type": "household", "id": hid, "base_version": None, "data": {
            "hamlet_id": data["id"], "address": f"Tổ {n % 9 + 1}", "head_name": head,
            "members_count": 2, "adults_count": 2, "phone": None,
            "location": {"lat": spots[hid][0], "lon": spots[hid][1], "accuracy_m": 8}}})
        name = TARGET_RESIDENT if n == 7 else f"Người Thử {n:03d}"
        items.append({"type": "resident", "id": str(uuid.uuid4()), "base_version": None, "data": {
            "household_id": hid, "full_name": name, "birth_year": 1980, "sex": "M", "phone": None,
            "consent": {"given": True, "purposes": ["support"], "at": "2025-10-01T08:00:00+07:00"}}})
    for i in range(0, len(items), 500):
        assert {r["status"] for r in api.push(token, items[i:i + 500])} == {"created"}
    every = [c["data"] for c in api.pull_all(token).values() if c["type"] == "household" and c["data"]]
    return {"id": data["id"], "households": len(every), "with_gps": sum(1 for h in every if h.get("location")),
            "target": items[2 * (COUNT // 2)]["id"], "resident_home": items[2 * 7]["id"], "spots": spots}


def _login(page, text_log=True):
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(USER)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    # Record what the progress line says while the pull runs (it goes once the list shows).
    page.evaluate("""() => { window.__pull = []; window.__list = [];
      new MutationObserver(() => { const t = document.querySelector('#pull-text');
        const b = document.querySelector('#pull-bar');
        if (t && t.textContent) window.__pull.push([t.textContent, b.value, b.max]);
        const s = document.querySelector('#view p.muted[role=status]');
        if (s && s.textContent && window.__list.at(-1) !== s.textContent) window.__list.push(s.textContent); })
      .observe(document.body, { subtree: true, childList: true, characterData: true }); }""")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_selector("#household-list li")
    wait_for_service_worker(page)
    return page.evaluate("window.__pull"), page.evaluate("window.__list")


def test_first_pull_progress_long_list_and_search(page, hamlet):
    # A slow network: the second page comes 3 s late, so the list is seen before it.
    slow = re.compile(r"/api/v1/sync/pull\?.*cursor=")
    page.route(slow, lambda route: (time.sleep(3), route.continue_()))
    progress, summaries = _login(page)
    page.unroute(slow)
    assert progress[0][0] == "Đang tải dữ liệu của ấp…"
    # After the first page the list shows what it has, saying more is coming; then all of it.
    text, value, total = next(p for p in progress if p[0] != progress[0][0])
    assert text.startswith("Đang tải dữ liệu: ") and "bản ghi (" in text and 0 < value < total, progress
    assert "— đang tải thêm (" in summaries[0], summaries
    summary = page.locator("#view p.muted[role=status]")
    expect(summary).to_have_text(f"{hamlet['households']} hộ")
    shot(page, "60-long-list")

    # Only the rows near the screen are in the page, and scrolling brings the others.
    rows = page.locator("#household-list li")
    assert 5 < rows.count() < 45, rows.count()
    first = rows.first.inner_text()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    assert 5 < rows.count() < 45
    assert rows.first.inner_text() != first
    last = page.evaluate("""() => Math.max(...[...document.querySelectorAll('#household-list li')]
        .map((li) => li.getBoundingClientRect().bottom))""")
    assert last <= page.evaluate("document.body.scrollHeight") + 1
    shot(page, "61-long-list-bottom")

    # The search: by the head's name typed without tones, and by a resident's name.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#hh-search").fill("lo thi ngoc die")
    expect(summary).to_have_text(f"Tìm thấy 1 / {hamlet['households']} hộ")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TARGET_HEAD)
    shot(page, "62-search-head")
    page.locator("#hh-search").fill("quang van bay")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#household-list a[href$='{hamlet['resident_home']}']")).to_have_count(1)
    page.locator("#hh-search").fill("")
    expect(summary).to_have_text(f"{hamlet['households']} hộ")


def test_hamlet_map_dots_open_households_and_find_the_next_unvisited(context, page, hamlet):
    _login(page)
    expect(page.locator("#view p.muted[role=status]")).not_to_contain_text("đang tải")  # all there
    page.click("#map-link")
    svg = page.locator("#hamlet-map")
    expect(svg.locator("path.map-area")).to_have_count(1)
    dots = svg.locator("circle.map-dot")
    expect(dots).to_have_count(hamlet["with_gps"])
    visited = svg.locator("circle.map-dot.visited")
    before = visited.count()  # the demo's own households of this hamlet may have visits
    expect(page.locator("#map-legend")).to_contain_text(f"Chưa thăm ({hamlet['with_gps'] - before})")
    shot(page, "63-hamlet-map")

    # Tapping a dot opens that household (the dot under the finger, or its nearest unvisited
    # neighbour within reach).
    dot = svg.locator(f"circle[data-id='{hamlet['target']}']")
    box = dot.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#record-visit")
    opened = current_id(page, "#/household/")
    assert opened in hamlet["spots"]
    record_visit_without_services(page)

    page.goto(f"/#/hamlet/{hamlet['id']}/map")
    expect(visited).to_have_count(before + 1)
    expect(svg.locator(f"circle.map-dot.visited[data-id='{opened}']")).to_have_count(1)
    expect(page.locator("#map-legend")).to_contain_text(f"Chưa thăm ({hamlet['with_gps'] - before - 1})")

    # Standing at another household: it is the nearest unvisited one.
    unvisited = set(page.evaluate("[...document.querySelectorAll('circle.map-dot.never')].map((c) => c.dataset.id)"))
    stand = next(h for h in hamlet["spots"] if h != opened and h in unvisited)
    lat, lon = hamlet["spots"][stand]
    context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 5})
    page.click("#map-find-next")
    expect(page.locator("#map-next a#open-next")).to_have_attribute("href", f"#/household/{stand}")
    expect(page.locator("#map-next")).to_contain_text("cách khoảng 0 m")
    expect(svg.locator("#map-me")).to_have_count(1)
    expect(svg.locator(f"circle.next[data-id='{stand}']")).to_have_count(1)
    shot(page, "64-hamlet-map-next")
    page.click("#map-zoom")
    expect(page.locator("#map-box")).to_have_class("map-box zoom-2")
    page.click("#open-next")
    page.wait_for_selector("#record-visit")
    assert current_id(page, "#/household/") == stand


def record_visit_without_services(page):
    """The shortest visit: nobody home."""
    page.click("#record-visit")
    page.wait_for_selector("#visit-form")
    page.locator("#outcome").get_by_label("Không có nhà", exact=True).check()
    page.wait_for_selector(".loc-text:has-text('±')")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")


