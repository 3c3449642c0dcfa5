"""What a member does in the app, step by step, for the e2e tests (all through the UI)."""
import time

from tests.e2e.conftest import ARTIFACTS, PASSWORD


def shot(page, name):
    """Phone-size screenshot under tests/artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.getElementById('toast').hidden = true")  # transient; hides the screen
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def login(page, username="demo.member"):
    """Log in through the form and wait for the first pull to land on the household list."""
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_selector("#household-list li")
    wait_for_service_worker(page)


def office_desk(browser, server, username="demo.officer"):
    """A desktop browser signed in to the office console: ``(context, page)``; close the context
    when done."""
    office = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="vi-VN")
    desk = office.new_page()
    desk.goto("/office/login")
    desk.get_by_label("Tên đăng nhập").fill(username)
    desk.get_by_label("Mật khẩu").fill(PASSWORD)
    desk.get_by_role("button", name="Đăng nhập").click()
    desk.wait_for_url("**/office/**")
    return office, desk


def wait_for_service_worker(page, timeout=20):
    """The shell is cached once the worker is active and controls the page. Polled from here:
    `wait_for_function` re-evaluates its predicate with `eval`, which the app's CSP forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < deadline, "the service worker never took control"
        page.wait_for_timeout(100)


def counts(page):
    """The app's own outbox counts, read from IndexedDB through its module."""
    return page.evaluate("import('/app/outbox.js').then((m) => m.outboxCounts())")


def wait_counts(page, timeout=30, **expected):
    """Poll until the outbox counts match, e.g. wait_counts(page, pending=0, photos=0)."""
    deadline = time.monotonic() + timeout
    current = None
    while time.monotonic() < deadline:
        current = counts(page)
        if all(current[k] == v for k, v in expected.items()):
            return current
        page.wait_for_timeout(300)
    stuck = [{k: i.get(k) for k in ("type", "id", "state", "errors", "server")} for i in items(page)]
    raise AssertionError(f"outbox counts {current} never matched {expected}; items: {stuck}")


def items(page):
    return page.evaluate("import('/app/outbox.js').then((m) => m.allItems())")


def current_id(page, prefix):
    """The record id in the URL, e.g. '#/household/<id>'."""
    return page.url.split(prefix, 1)[1].split("/")[0].split("?")[0]


def register_household(page, head_name, address="Tổ 9, ấp Bảo Định", members=3, adults=2, phone="0912345678",
                       screenshot=None):
    """From a household list: register a household, land on its page, return its id."""
    page.click("#new-household")
    page.wait_for_selector("#household-form")
    page.get_by_label("Họ tên chủ hộ").fill(head_name)
    page.get_by_label("Địa chỉ").fill(address)
    page.get_by_label("Số nhân khẩu").fill(str(members))
    page.get_by_label("Số người lớn (từ 18 tuổi)").fill(str(adults))
    page.get_by_label("Số điện thoại").fill(phone)
    page.click("#take-location")
    page.wait_for_selector(".loc-text:has-text('±')")
    if screenshot:
        shot(page, screenshot)
    page.click("#save-household")
    page.wait_for_selector("#record-visit")
    return current_id(page, "#/household/")


def add_resident(page, full_name, birth_year=1980, sex="Nữ", screenshot=None):
    """From a household page: add a resident with consent for every purpose."""
    page.click("#add-resident")
    page.wait_for_selector("#resident-form")
    page.get_by_label("Họ và tên").fill(full_name)
    page.get_by_label("Năm sinh").fill(str(birth_year))
    page.locator("#sex").get_by_label(sex).check()
    page.locator("#consent-given").check()
    for purpose in ("Hỗ trợ dịch vụ số", "Liên hệ lại", "Chụp ảnh"):
        page.get_by_label(purpose).check()
    if screenshot:
        shot(page, screenshot)
    page.click("#save-resident")
    page.wait_for_selector("#record-visit")


def record_visit(page, photo=None, notes="", follow_up=None, outcome="Hoàn thành", cks_provider="VNPT",
                 screenshot=None):
    """From a household page: record a visit (CKS for the first resident, TMĐT for the household)."""
    page.click("#record-visit")
    page.wait_for_selector("#visit-form")
    page.locator("#outcome").get_by_label(outcome, exact=True).check()
    give_service(page, "CKS", who=(0,), result="done", provider=cks_provider)
    give_service(page, "VNEID", who=(0,), result="already_had")
    give_service(page, "TMDT", result="in_progress")
    if notes:
        page.get_by_label("Ghi chú").fill(notes)
    if follow_up:
        page.get_by_label("Hẹn thăm lại ngày").fill(follow_up)
    page.wait_for_selector(".loc-text:has-text('±')")
    if photo:
        page.set_input_files("#photo-input", str(photo))
        page.wait_for_selector("#photo-box img")
        page.locator("#photo-consent").check()
    if screenshot:
        shot(page, f"{screenshot}-photo")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, screenshot)
        page.locator("#service-checklist .svc-card").first.scroll_into_view_if_needed()
        shot(page, f"{screenshot}-services")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")


RESULT_LABELS = {"done": "Đã hỗ trợ xong", "already_had": "Đã có từ trước", "in_progress": "Đang xử lý",
                 "declined": "Không muốn", "not_eligible": "Không đủ điều kiện", "failed": "Chưa thành công"}


def give_service(page, code, who=(0,), result="done", provider=None, detail=None):
    """Visit form: pick a service ("Thêm dịch vụ"), tick the people (row index or part of the name;
    a household service has one row, "Cả hộ") with a result; returns the service's card."""
    picker = page.locator("#svc-picker")
    if not picker.evaluate("(d) => d.open"):
        picker.locator("summary").click()
    picker.locator(f".svc-add[data-code='{code}']").click()
    card = page.locator(f".svc-card[data-code='{code}']")
    rows = card.locator(".svc-row")
    for person in (who if rows.count() > 1 else (0,)):
        row = rows.nth(person) if isinstance(person, int) else rows.filter(has_text=person)
        row.locator(".svc-who").check()
        row.get_by_label(RESULT_LABELS[result], exact=True).check()
    if provider:
        card.get_by_label(f"Nhà cung cấp {code}").select_option(provider)
    if detail:
        card.get_by_label("Nội dung hỗ trợ").fill(detail)
    return card
