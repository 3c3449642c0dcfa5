"""The province page in Chromium: the analyst sees Đồng Nai's 95 communes on the map, sorts the
table both ways and downloads the communes' CSV (screenshot: tests/artifacts/province-page.png).
"""
import csv
import io

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, PASSWORD

DESKTOP = {"width": 1366, "height": 900}
DEMO_COMMUNE = "26425"


@pytest.fixture
def desk(browser, server):
    """A desktop page on the server; uncaught page errors fail the test."""
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                              base_url=server, accept_downloads=True)
    ctx.set_default_timeout(20000)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def first_code(page):
    return page.locator("#commune-table tbody tr").first.get_attribute("data-code")


def last_code(page):
    return page.locator("#commune-table tbody tr").last.get_attribute("data-code")


@pytest.mark.e2e
def test_analyst_sorts_the_communes_and_downloads_the_csv(desk):
    page = desk
    page.goto("/province/login")
    page.get_by_label("Tên đăng nhập").fill("demo.province")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/province/?first=2025-10-01&last=2025-10-31&state=live")
    expect(page.get_by_role("heading", name="Số liệu các xã · Đồng Nai")).to_be_visible()
    expect(page.locator("#unit-map")).to_have_attribute("data-hamlets", "95")
    expect(page.locator("#commune-table tbody tr")).to_have_count(95)

    header = page.locator("#commune-table th[data-key='households_total'] button")
    header.click()  # ascending: the communes without a baseline first, Xuân Lộc (403) last
    expect(page.locator("#commune-table th[data-key='households_total']")).to_have_attribute(
        "aria-sort", "ascending")
    assert last_code(page) == DEMO_COMMUNE
    header.click()
    expect(page.locator("#commune-table th[data-key='households_total']")).to_have_attribute(
        "aria-sort", "descending")
    assert first_code(page) == DEMO_COMMUNE
    gap = page.locator("#commune-table th[data-key='targets.adults_with_CKS.gap'] button")
    gap.click()
    assert first_code(page) == DEMO_COMMUNE  # the only commune with a rate (and so a gap)
    page.locator("#map-indicator").select_option("targets.adults_with_CKS.gap")
    expect(page.locator("#map-legend")).to_contain_text("Khoảng cách")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "province-page.png"))

    with page.expect_download() as info:
        page.locator("[data-download='csv-commune']").click()
    download = info.value
    assert download.suggested_filename == "cnscd_75_commune_2025-10-01_2025-10-31.csv"
    data = open(download.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 95
    ours = next(r for r in rows if r["code"] == DEMO_COMMUNE)
    assert ours["name"] == "Xuân Lộc" and ours["households_total"] == "403"
    assert ours["figures"] == "live"
