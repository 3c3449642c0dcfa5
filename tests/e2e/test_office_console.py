"""The office console in Chromium: the overview map and table, a flagged visit reviewed, two
duplicate households merged, October 2025 approved, and the XLSX report read back against the API.

Desktop-sized (1366×768); screenshots go to tests/artifacts/office-*.png.
"""
import uuid

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PASSWORD

DESKTOP = {"width": 1366, "height": 768}
HAMLETS = 31
OCT = "from=2025-10-01&to=2025-10-31"


@pytest.fixture
def office(browser, server):
    """A desktop browser page on the server; uncaught page errors fail the test."""
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                              base_url=server, accept_downloads=True)
    ctx.set_default_timeout(20000)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"office-{name}.png"), full_page=False)


def _duplicates(api):
    """Two records of one household in ấp Bảo Định, pushed by the demo team lead."""
    token = api.token("demo.lead")
    status, me = api.call("GET", "/me", token)
    hamlet = me["hamlet_ids"][0]
    head = "Yên Văn Kiểm"  # sorts after every seeded household: other tests pick by position
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    items = [{"type": "household", "id": hid, "base_version": None,
              "data": {"hamlet_id": hamlet, "address": address, "head_name": name,
                       "members_count": 3, "adults_count": 2, "phone": None, "location": None}}
             for hid, name, address in zip(ids, (head, head.upper()),
                                           ("Tổ 9, ấp Bảo Định", "tổ 09 ấp bảo định"))]
    items.append({"type": "visit", "id": str(uuid.uuid4()), "data": {
        "household_id": ids[1], "visited_at": "2025-10-21T09:00:00+07:00", "location": None,
        "outcome": "completed", "notes": "", "services": [], "follow_up_on": None}})
    results = api.push(token, items)
    assert [r["status"] for r in results] == ["created"] * 3, results
    return head, ids


def _sign_in(page):
    page.goto("/office/login")
    page.get_by_label("Tên đăng nhập").fill("demo.officer")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/office/**")


def _gap_values(page):
    return page.eval_on_selector_all(
        '#hamlet-table tbody tr td[data-key="targets.adults_with_CKS.gap"]',
        "cells => cells.map(c => c.getAttribute('data-value'))")


@pytest.mark.e2e
def test_office_console_day(office, api, tmp_path):
    page = office
    head, (first_id, second_id) = _duplicates(api)
    _sign_in(page)

    # Overview: every hamlet drawn with no tile server, the table sorted by the gap to target.
    page.goto("/office/overview?first=2025-10-01&last=2025-11-01")
    expect(page.locator("#hamlet-map .leaflet-overlay-pane path")).to_have_count(HAMLETS)
    assert page.locator("#hamlet-map .leaflet-tile").count() == 0
    assert page.locator("#hamlet-table tbody tr").count() == HAMLETS
    expect(page.locator("#map-legend")).to_contain_text("Tỷ lệ có Chữ ký số")
    expect(page.locator("svg.trend polyline.line-has")).to_have_count(1)
    shot(page, "overview")
    gap_header = page.locator('#hamlet-table th[data-key="targets.adults_with_CKS.gap"] button')
    gap_header.click()
    ascending = [float(v) for v in _gap_values(page) if v]
    assert ascending == sorted(ascending) and len(ascending) == HAMLETS
    gap_header.click()
    descending = [float(v) for v in _gap_values(page) if v]
    assert descending == sorted(ascending, reverse=True)
    page.locator("#hamlet-table").scroll_into_view_if_needed()
    shot(page, "overview-sorted-by-gap")

    # A visit flagged for GPS outside its hamlet, approved.
    page.goto("/office/flags?first=2025-09-01&last=2025-11-30")
    page.get_by_role("link", name="Xem lượt thăm").first.click()
    page.wait_for_url("**/office/visits/**")
    page.get_by_label("Đã duyệt").check()
    page.get_by_role("button", name="Lưu quyết định").click()
    expect(page.locator(".badge.state-approved").first).to_be_visible()
    shot(page, "flagged-visit-approved")

    # Two duplicate households merged.
    page.goto("/office/duplicates")
    group = page.locator("section.card", has_text=head)
    expect(group).to_have_count(1)
    group.get_by_role("link", name="Gộp vào hộ đầu tiên…").click()
    page.get_by_role("button", name="Gộp hai hộ").click()
    expect(page.locator(".notice")).to_contain_text("Đã gộp hai hộ")
    expect(page.locator("section.card", has_text=head)).to_have_count(0)
    token = api.token("demo.officer")
    assert sorted(len(api.visits(token, h)) for h in (first_id, second_id)) == [0, 1]

    # October 2025 approved (after the merge changed its figures).
    page.goto("/office/approvals/2025-10")
    expect(page.locator("#approval-state")).to_have_attribute("data-state", "open")
    page.locator("#approve-form button[type=submit]").click()
    expect(page.locator("#approval-state")).to_have_attribute("data-state", "approved")
    shot(page, "month-approved")

    # The XLSX report of October, built by the job, downloaded and read back against the API.
    page.goto("/office/reports")
    page.locator("#report-form input[name=first]").fill("2025-10-01")
    page.locator("#report-form input[name=last]").fill("2025-10-31")
    page.get_by_role("button", name="Tạo tệp Excel").click()
    link = page.locator("#report-tasks tr").nth(1).locator("a.download")
    expect(link).to_be_visible(timeout=60000)
    shot(page, "report-ready")
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "report.xlsx"
    info.value.save_as(path)
    book = load_workbook(path)

    status, api_figures = api.call("GET", f"/coverage?commune=26425&{OCT}", token)
    assert status == 200
    hamlets = api_figures["hamlets"]
    rows = list(book["Tổng hợp"].iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 1 + HAMLETS + 1
    base = ["households_total", "households_registered", "households_reached", None, "visits",
            "adults_total"]
    for row, figures in zip(rows[1:], hamlets + [api_figures["commune"]]):
        assert row[0] == figures["code"]
        for cell, key in zip(row[2:8], base):
            expected = figures["rates"]["households_reached"] if key is None else figures[key]
            assert cell == expected, (figures["code"], key)
        assert row[header.index("Có Chữ ký số")] == figures["services"]["CKS"]["has"]
        assert row[header.index("Tỷ lệ có Chữ ký số")] == figures["rates"]["adults_with_CKS"]
    cks = list(book["CKS"].iter_rows(values_only=True))
    for row, figures in zip(cks[1:], hamlets + [api_figures["commune"]]):
        service = figures["services"]["CKS"]
        target = figures["targets"]["adults_with_CKS"]
        assert list(row[2:]) == [service["supported"], service["already_had"], service["has"],
                                 figures["rates"]["adults_with_CKS"], target["target"],
                                 target["gap"]], figures["code"]
    assert sum(r[4] for r in cks[1:-1]) == cks[-1][4] > 0  # the totals row adds up
