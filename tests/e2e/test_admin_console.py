"""The admin console in Chromium at 1366×768: a hamlet added to Xuân Lộc, a broken boundary
refused with its reason and a good one drawn; a member created, their phone signed in, the
account locked and the phone's next pull refused (401).

The hamlet is closed again at the end (no household ever lived there), so the other browser
tests still see the demo's 31 hamlets. Screenshots go to tests/artifacts/admin-*.png.
"""
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from shapely.geometry import box, mapping, shape

from tests.e2e.conftest import ARTIFACTS, PASSWORD, REPO

DESKTOP = {"width": 1366, "height": 768}
COMMUNE = json.loads((REPO / "server" / "data" / "xuan_loc_26425.geojson").read_text("utf-8"))


@pytest.fixture
def desk(browser, server):
    """A desktop browser page on the server; uncaught page errors fail the test."""
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                              base_url=server)
    ctx.set_default_timeout(20000)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=False)


def _boundaries(tmp_path):
    """A small square inside the commune, a bow tie over it, and a square far outside."""
    outline = shape(COMMUNE["features"][0]["geometry"])
    centre = outline.representative_point()
    square = box(centre.x - 0.002, centre.y - 0.002, centre.x + 0.002, centre.y + 0.002)
    assert outline.contains(square)
    (x0, y0, x1, y1) = square.bounds
    files = {
        "good": {"type": "Feature", "properties": {"ten": "Ấp Thử Nghiệm"},
                 "geometry": mapping(square)},
        "bowtie": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1],
                                                        [x0, y0]]]},
        "outside": mapping(box(x0 + 1, y0, x1 + 1, y1)),
    }
    paths = {}
    for name, body in files.items():
        paths[name] = tmp_path / f"{name}.geojson"
        paths[name].write_text(json.dumps(body), encoding="utf-8")
    return paths


def _upload(page, path: Path):
    page.locator("input[type=file][name=boundary]").set_input_files(str(path))
    page.get_by_role("button", name="Tải ranh giới lên").click()


@pytest.mark.e2e
def test_admin_console_day(desk, api, tmp_path):
    page = desk
    files = _boundaries(tmp_path)
    page.goto("/admin/login")
    page.get_by_label("Tên đăng nhập").fill("demo.admin")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/admin/")
    expect(page.locator("h1")).to_have_text("Tổng quan quản trị")
    shot(page, "home")

    # A new hamlet of Xuân Lộc.
    page.get_by_role("link", name="Đơn vị hành chính", exact=True).click()
    page.get_by_role("link", name="Xuân Lộc", exact=True).click()
    expect(page.locator("h1")).to_contain_text("26425")
    shot(page, "commune")
    page.get_by_label("Tên ấp").fill("Ấp Thử Nghiệm")
    page.get_by_role("button", name="Thêm ấp").click()
    expect(page.locator(".notice")).to_contain_text("Đã thêm Ấp Thử Nghiệm")
    hamlet_url = page.url

    # Broken boundaries are refused, each with its reason; nothing is stored.
    _upload(page, files["bowtie"])
    refusal = page.locator("p.error")
    expect(refusal).to_contain_text("Ranh giới tự cắt nhau")
    expect(refusal).to_contain_text("tại điểm kinh độ")
    page.locator("#boundary-card").scroll_into_view_if_needed()
    shot(page, "boundary-refused")
    _upload(page, files["outside"])
    expect(page.locator("p.error")).to_contain_text("Ranh giới nằm hoàn toàn ngoài Xuân Lộc")
    expect(page.locator("svg.unitmap path.current")).to_have_count(0)

    # A good one is stored and drawn among the commune's hamlets (the demo's hamlets tile the
    # whole commune, so the page also points out the one it overlaps).
    _upload(page, files["good"])
    expect(page.locator(".notice").first).to_contain_text("Đã lưu ranh giới ấp")
    expect(page.locator(".notice").nth(1)).to_contain_text("Lưu ý: ranh giới chồng lên Ấp")
    expect(page.locator("svg.unitmap path.current")).to_have_count(1)
    expect(page.locator("svg.unitmap path.hamlet:not(.current)")).to_have_count(31)
    shot(page, "boundary-stored")

    # A member created for a team of Xuân Lộc signs in on a phone, then is locked out.
    page.get_by_role("link", name="Tài khoản", exact=True).click()
    page.get_by_role("link", name="+ Tạo tài khoản").click()
    page.get_by_label("Tên đăng nhập").fill("e2e.thanhvien")
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Thử")
    page.get_by_label("Mật khẩu ban đầu").fill(PASSWORD)
    page.get_by_label("Vai trò").select_option("member")
    page.locator("select[name=team]").select_option(index=1)
    shot(page, "user-new")
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.locator(".notice")).to_contain_text("Đã tạo tài khoản e2e.thanhvien")
    phone = api.token("e2e.thanhvien")
    status, _ = api.call("GET", "/sync/pull?limit=10", phone)
    assert status == 200
    page.reload()
    expect(page.locator("h2", has_text="Điện thoại đang đăng nhập")).to_contain_text("(1)")
    page.get_by_role("button", name="Khóa tài khoản").click()
    expect(page.locator(".notice")).to_contain_text("1 điện thoại đã bị đăng xuất")
    expect(page.locator("h1 .badge")).to_have_text("Đã khóa")
    shot(page, "user-locked")
    status, body = api.call("GET", "/sync/pull?limit=10", phone)
    assert status == 401, body

    # The other sections at the console's size.
    for section, name in (("Tổ CNSCĐ", "teams"), ("Danh mục dịch vụ", "services"),
                          ("Chỉ tiêu", "targets"), ("Chiến dịch", "campaigns"),
                          ("Khóa API", "keys")):
        page.get_by_role("link", name=section, exact=True).click()
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"], name
        shot(page, name)

    # A province key, shown once.
    page.get_by_label("Ghi chú (nơi dùng khóa)").fill("Máy chủ báo cáo Sở KH&CN")
    page.get_by_role("button", name="Tạo khóa").click()
    expect(page.locator("#new-key")).to_contain_text("cnscd_")
    shot(page, "key-created")
    page.reload()  # re-posts the form: no second key, and the plain key is gone
    expect(page.locator(".notice")).to_contain_text("không tạo thêm khóa")
    expect(page.locator("#new-key")).to_have_count(0)
    expect(page.get_by_role("button", name="Thu hồi")).to_have_count(1)

    # The hamlet is closed again: the other tests count the demo's 31 hamlets.
    page.goto(hamlet_url)
    page.get_by_role("button", name="Đóng ấp").click()
    expect(page.locator(".notice")).to_contain_text("Đã đóng Ấp Thử Nghiệm")
    page.get_by_role("link", name="Tổng quan", exact=True).click()
    changes = page.locator("table.grid tbody tr")
    expect(changes).to_have_count(6)  # every change above, newest first, audit-logged
    expect(changes.first).to_contain_text("Đóng ấp")
    for action in ("Thêm ấp", "Tải ranh giới ấp", "Tạo tài khoản", "Khóa tài khoản",
                   "Tạo khóa API"):
        expect(page.locator("table.grid", has_text=action)).to_have_count(1)
    shot(page, "home-after")
