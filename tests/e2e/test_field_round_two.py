"""The field app, round two (issue 11): one test per point, at 390×844.

- 10: the service worker's cache version is a hash of the shell; a first start downloads it once.
- 2: a refused or conflicted record is opened from the sync screen, corrected and sent again.
- 5: a follow-up can be kept open by a later visit; done ones stay listed with their visit.
- 6: the day view (tally, last visits, never/not-since filter, today's visits), offline.
- 11: toasts, the network line, the member's name, the detail box, sync offline, the review.
"""
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import (add_resident, give_service, login, office_desk, register_household, shot,
                               wait_counts)

pytestmark = pytest.mark.e2e


def test_first_start_downloads_the_shell_once_under_a_hashed_version(page):
    """Point 10: the served worker carries the shell's hash as its version, and at install it takes
    the files the page has just fetched from the HTTP cache (checked by hash) instead of again."""
    login(page)
    served = page.request.get("/sw.js").text()
    version = re.search(r"^const VERSION = '([0-9a-f]{12})';$", served, re.M).group(1)
    shell = re.findall(r"'([^']+)'", re.search(r"const SHELL = \[(.*?)\];", served, re.S).group(1))
    assert page.evaluate("caches.keys()") == [f"cnscd-shell-{version}"]
    cached = page.evaluate("""async () => (await (await caches.open((await caches.keys())[0])).keys())
        .map((r) => new URL(r.url).pathname)""")
    assert sorted(cached) == sorted(shell)
    # What the worker itself fetched, with the bytes that crossed the network (0: HTTP cache).
    worker = page.context.service_workers[0]
    fetched = worker.evaluate("""performance.getEntriesByType('resource')
        .map((e) => [new URL(e.name).pathname, e.transferSize])""")
    by_worker = {path: size for path, size in fetched if path in shell}
    page_fetched = {path for path, size in page.evaluate("""performance.getEntriesByType('resource')
        .concat(performance.getEntriesByType('navigation'))
        .map((e) => [new URL(e.name).pathname, e.transferSize])""") if size > 0}
    downloaded_twice = sorted(p for p, size in by_worker.items() if size > 0 and p in page_fetched)
    assert set(by_worker) == set(shell)  # each file went through reuse() or download()
    assert not downloaded_twice, downloaded_twice
    assert {"/", "/app/main.js", "/app/sync.js", "/app.css"} <= page_fetched
    shot(page, "30-first-start")


def _new_household(page, name, **kwargs):
    """From anywhere: register a household in the member's hamlet; returns its id."""
    page.goto("/#/")
    page.wait_for_selector("#new-household")
    return register_household(page, name, **kwargs)


def _visit_household_services(page, household_id, outcome="Hoàn thành", follow_up=None, screenshot=None):
    """Record a visit with one household-level service (TMĐT), optionally with a follow-up day."""
    page.goto(f"/#/household/{household_id}/visit")
    page.wait_for_selector("#visit-form")
    page.locator("#outcome").get_by_label(outcome, exact=True).check()
    give_service(page, "TMDT", result="in_progress")
    if follow_up:
        page.get_by_label("Hẹn thăm lại ngày").fill(follow_up)
    if screenshot:
        shot(page, screenshot)
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")


def test_refused_and_conflicted_records_are_corrected_and_sent_again(context, page, api):
    """Point 2: a visit refused for a wrong phone clock is opened from the sync screen, its time and
    services corrected, and stored; a household in conflict is corrected in its form (the
    server's version shown) and stored against the server's version. The household is named."""
    login(page)
    tag = uuid.uuid4().hex[:6]
    head = f"Yên Sửa {tag}"
    hid = _new_household(page, head, phone="0912000111")
    wait_counts(page, timeout=30, pending=0)

    # The phone's clock runs three days ahead: the server refuses the visit (in_future).
    real = datetime.now(timezone.utc)
    page.clock.set_system_time(real + timedelta(days=3))
    _visit_household_services(page, hid)
    wait_counts(page, timeout=60, pending=0, rejected=1)
    page.clock.set_system_time(datetime.now(timezone.utc))

    page.goto("/#/sync")
    item = page.locator(".rejected-item", has_text=head)
    expect(item.locator(".item-title")).to_contain_text(f"Lượt thăm hộ {head}")
    expect(item.locator("li[data-field='visited_at']")).to_contain_text("Thời gian ở tương lai")
    shot(page, "31-refused-visit")
    item.get_by_role("link", name="Sửa", exact=True).click()
    page.wait_for_selector("#visit-form")
    expect(page.locator("h1")).to_have_text(f"Sửa lượt thăm — {head}")
    expect(page.locator("#item-notice")).to_contain_text("Thời gian ở tương lai")
    when = (real + timedelta(hours=7) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")  # local (+7)
    page.locator("#visited-at").fill(when)
    page.locator(".svc-card[data-code='TMDT']").get_by_label("Đã hỗ trợ xong", exact=True).check()
    shot(page, "32-correct-visit")
    page.click("#save-visit")
    wait_counts(page, timeout=60, pending=0, rejected=0)
    token = api.token("demo.member")
    (stored,) = api.visits(token, hid)
    assert datetime.fromisoformat(stored["visited_at"]).astimezone(timezone.utc) < real
    assert [(s["code"], s["result"]) for s in stored["services"]] == [("TMDT", "done")]

    # Conflict: the phone changes the phone number offline while the lead changes the address.
    context.set_offline(True)
    page.goto(f"/#/household/{hid}/edit")
    page.get_by_label("Số điện thoại").fill("0912000222")
    page.click("#save-household")
    page.wait_for_selector("#record-visit")
    lead = api.token("demo.lead")
    change = api.pull_all(lead)[("household", hid)]
    data = {k: v for k, v in change["data"].items() if k != "id"}
    data["address"] = f"Tổ 5, tổ trưởng sửa {tag}"
    edit = {"type": "household", "id": hid, "base_version": change["version"], "data": data}
    assert [r["status"] for r in api.push(lead, [edit])] == ["updated"]
    context.set_offline(False)
    wait_counts(page, timeout=60, conflict=1, pending=0)
    page.goto("/#/sync")
    conflict = page.locator(f".conflict-item[data-id='{hid}']")
    expect(conflict.locator(".item-title")).to_contain_text(f"Hộ gia đình: {head}")
    conflict.get_by_role("link", name="Sửa", exact=True).click()
    page.wait_for_selector("#household-form")
    changed = page.locator("#item-notice tr.changed")
    expect(changed.filter(has_text="Địa chỉ")).to_contain_text(f"Tổ 5, tổ trưởng sửa {tag}")
    expect(changed.filter(has_text="Số điện thoại")).to_contain_text("0912000111")  # as members write it
    # The member takes the lead's address and keeps their new phone number.
    page.get_by_label("Địa chỉ").fill(f"Tổ 5, tổ trưởng sửa {tag}")
    shot(page, "33-correct-conflict")
    page.click("#save-household")
    wait_counts(page, timeout=60, conflict=0, pending=0, rejected=0)
    after = api.pull_all(token)[("household", hid)]
    assert after["version"] == change["version"] + 2
    assert after["data"]["address"] == f"Tổ 5, tổ trưởng sửa {tag}"
    assert after["data"]["phone"] in ("0912000222", "+84912000222")


def test_followups_kept_open_and_done_ones_shown_with_their_visit(context, page, api):
    """Point 5: a later visit about something else keeps the follow-up open (`keep_open`); the next
    one settles it, offline at once on the phone, and the done follow-up stays listed with the
    visit that settled it."""
    login(page)
    tag = uuid.uuid4().hex[:6]
    head = f"Yên Hẹn {tag}"
    hid = _new_household(page, head)
    due = (datetime.now(timezone.utc) + timedelta(hours=7, days=3)).strftime("%Y-%m-%d")
    _visit_household_services(page, hid, outcome="Hoàn thành một phần", follow_up=due)
    wait_counts(page, timeout=60, pending=0)

    page.goto(f"/#/household/{hid}/visit")
    box = page.locator("#open-followups")
    page.locator("#outcome").get_by_label("Không có nhà", exact=True).check()
    expect(box).to_be_hidden()  # only a reaching visit settles follow-ups
    page.locator("#outcome").get_by_label("Hoàn thành", exact=True).check()
    expect(box).to_be_visible()
    box.get_by_role("checkbox").uncheck()
    give_service(page, "TMDT")
    shot(page, "34-keep-followup-open")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")
    wait_counts(page, timeout=60, pending=0)
    token = api.token("demo.member")
    followups = [c["data"] for c in api.pull_all(token).values()
                 if c["type"] == "followup" and c["data"]["household_id"] == hid]
    assert [f["status"] for f in followups] == ["open"]

    # Offline, the next visit settles it: the phone shows it done at once, with that visit.
    context.set_offline(True)
    _visit_household_services(page, hid)
    page.goto("/#/followups")
    done = page.locator("#followup-done-list li", has_text=head)
    expect(done).to_contain_text("Đã xong")
    expect(done).to_contain_text("Chờ gửi")
    expect(done.locator(".closed-by")).to_contain_text("(Hoàn thành)")
    expect(page.locator("#followup-list")).not_to_contain_text(head)
    shot(page, "35-followup-done-offline")
    context.set_offline(False)
    wait_counts(page, timeout=60, pending=0)
    (followup,) = [c["data"] for c in api.pull_all(token).values()
                   if c["type"] == "followup" and c["data"]["household_id"] == hid]
    closing = max(api.visits(token, hid), key=lambda v: v["visited_at"])
    assert followup["status"] == "done" and followup["closed_by"]["visit_id"] == closing["id"]
    page.goto(f"/#/household/{hid}")
    settled = page.locator("#household-followups .followup-done")
    expect(settled).to_contain_text("Đã xong")
    expect(settled).not_to_contain_text("Chờ gửi")
    expect(settled.locator(".closed-by")).to_contain_text("Đã thăm ngày")
    shot(page, "36-followup-done-household")


def test_day_view_tally_last_visits_and_filter_offline(context, page):
    """Point 6: offline, the home screen counts the member's visits today and this week, each
    household row says when it was last visited, the list filters "never visited" and "not
    visited since", and today's visits are listed with their households."""
    login(page)
    tag = uuid.uuid4().hex[:6]
    visited = _new_household(page, f"Yên Ngày Thăm {tag}")
    never = _new_household(page, f"Yên Ngày Chưa {tag}")
    context.set_offline(True)
    _visit_household_services(page, visited)
    page.goto("/#/")
    page.wait_for_selector("#household-list li")
    expect(page.locator("#tally-today")).to_have_text("Hôm nay: 1 lượt thăm, gặp 1 hộ")
    expect(page.locator("#tally-week")).to_have_text("Tuần này: 1 lượt thăm, gặp 1 hộ")
    today = (datetime.now(timezone.utc) + timedelta(hours=7)).strftime("%d/%m/%Y")
    page.locator("#hh-search").fill(tag)
    rows = page.locator("#household-list li")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#household-list a[href$='{visited}'] .last-visit")).to_have_text(f"Thăm gần nhất: {today}")
    expect(page.locator(f"#household-list a[href$='{never}'] .last-visit")).to_have_text("Chưa thăm")
    shot(page, "37-day-tally")

    page.locator("#visit-filter").select_option("never")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Yên Ngày Chưa {tag}")
    page.locator("#visit-filter").select_option("since")
    tomorrow = (datetime.now(timezone.utc) + timedelta(hours=7, days=1)).strftime("%Y-%m-%d")
    page.locator("#visit-since").fill(tomorrow)
    expect(rows).to_have_count(2)  # neither visited since tomorrow
    page.locator("#visit-since").fill((datetime.now(timezone.utc) + timedelta(hours=7)).strftime("%Y-%m-%d"))
    expect(rows).to_have_count(1)
    assert "f=since" in page.url  # the filter survives going back to the list
    shot(page, "38-not-visited-since")

    page.click("#today-link")
    expect(page.locator("#today-list li")).to_have_count(1)
    expect(page.locator("#today-list li")).to_contain_text(f"Yên Ngày Thăm {tag}")
    expect(page.locator("#today-list li")).to_contain_text("Chờ gửi")
    shot(page, "39-today")
    context.set_offline(False)


def test_small_things_toasts_network_name_detail_box_and_review(browser, server, context, page, api):
    """Point 11: the toast leaves the title alone and speaks of the network only offline; the
    header shows the member's whole name; "Nội dung hỗ trợ" waits for a result; "Đồng bộ ngay"
    waits for a network; the office's review and comment reach the phone."""
    login(page)
    user = page.locator("#user")
    name = api.call("GET", "/me", api.token("demo.member"))[1]["display_name"]
    expect(user).to_have_text(name)
    assert user.evaluate("(el) => el.scrollHeight <= el.clientHeight + 1"
                         " && el.scrollWidth <= el.clientWidth + 1")  # nothing clipped

    tag = uuid.uuid4().hex[:6]
    hid = _new_household(page, f"Yên Nhỏ {tag}")
    toast = page.locator("#toast")
    expect(toast).to_have_text("Đã lưu hộ mới.")
    title, box = page.locator("h1").bounding_box(), toast.bounding_box()
    assert box["y"] >= title["y"] + title["height"], (title, box)
    page.locator("#toast").evaluate("(el) => { el.hidden = false; }")
    page.screenshot(path=str(ARTIFACTS / "40-toast-below-title.png"))

    add_resident(page, f"Yên Thị Nhỏ {tag}")
    page.click("#record-visit")
    page.wait_for_selector("#visit-form")
    page.locator("#svc-picker .svc-add[data-code='KHAC']").click()
    card = page.locator(".svc-card[data-code='KHAC']")
    detail = card.get_by_label("Nội dung hỗ trợ")
    # One resident: ticked at once with "Đã hỗ trợ xong", so the box is there; unticked, it goes.
    expect(detail).to_be_visible()
    card.locator(".svc-who").uncheck()
    expect(detail).to_be_hidden()
    card.locator(".svc-who").check()
    expect(detail).to_be_visible()
    detail.fill("Hướng dẫn nhận tin nhắn cảnh báo lừa đảo")
    page.locator("#outcome").get_by_label("Hoàn thành", exact=True).check()
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")
    wait_counts(page, timeout=60, pending=0)

    context.set_offline(True)
    page.goto("/#/sync")
    expect(page.locator("#sync-now")).to_be_disabled()
    shot(page, "41-sync-offline")
    page.goto(f"/#/household/{hid}/edit")
    page.get_by_label("Địa chỉ").fill(f"Tổ 4, ấp Bảo Định {tag}")
    page.click("#save-household")
    expect(toast).to_have_text("Đã lưu thay đổi. Sẽ gửi khi có mạng.")
    context.set_offline(False)
    page.goto("/#/sync")
    expect(page.locator("#sync-now")).to_be_enabled()
    wait_counts(page, timeout=60, pending=0)

    # The office asks for more about the visit; the phone shows the decision and the comment.
    (stored,) = api.visits(api.token("demo.member"), hid)
    office, desk = office_desk(browser, server)
    desk.goto(f"/office/visits/{stored['id']}")
    desk.get_by_label("Cần bổ sung").check()
    desk.get_by_label("Nhận xét gửi thành viên").fill(f"Thiếu ảnh minh chứng {tag}")
    desk.get_by_role("button", name="Lưu quyết định").click()
    expect(desk.locator(".badge.state-has_issues").first).to_be_visible()
    office.close()
    page.click("#sync-now")
    page.goto(f"/#/household/{hid}")
    visit = page.locator(f"#visit-list li[data-id='{stored['id']}']")
    expect(visit.locator(".tag.review")).to_have_text("Xã yêu cầu bổ sung", timeout=30000)
    expect(visit.locator(".review-comment")).to_have_text(f"Nhận xét của xã: Thiếu ảnh minh chứng {tag}")
    visit.evaluate("(el) => el.scrollIntoView({ block: 'center' })")
    shot(page, "42-review-on-phone")
