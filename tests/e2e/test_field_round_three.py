"""The field app, round three (issue 11, points 4, 7 and 8), at 390×844.

- 4: a resident who refuses consent is recorded with birth year and sex only, and gets services.
- 7: a visit opens from the household page; unsent it is corrected in place, sent it is corrected
  as a new revision that the server stores under the same id and the office sees as corrected.
- 8: the visit form is built around the services given: pick a service, tick people and results.
"""
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import give_service, login, office_desk, shot, wait_counts

pytestmark = pytest.mark.e2e


def _home_with_people(api, names, tag):
    """A household with residents stored on the server for demo.member (pulled at login)."""
    token = api.token("demo.member")
    hamlet = api.call("GET", "/me", token)[1]["hamlet_ids"][0]
    hid = str(uuid.uuid4())
    items = [{"type": "household", "id": hid, "base_version": None,
              "data": {"hamlet_id": hamlet, "address": f"Tổ 2 {tag}", "head_name": f"Lò Văn Ba {tag}",
                       "members_count": len(names), "adults_count": len(names)}}]
    ids = []
    for i, name in enumerate(names):
        ids.append(str(uuid.uuid4()))
        items.append({"type": "resident", "id": ids[-1], "base_version": None, "data": {
            "household_id": hid, "full_name": f"{name} {tag}", "birth_year": 1960 + 5 * i, "sex": "F",
            "consent": {"given": True, "purposes": ["support"], "at": "2025-10-05T09:10:00+07:00"}}})
    assert {r["status"] for r in api.push(token, items)} == {"created"}
    return token, hid, ids


def _open_visit_form(page, hid):
    page.goto(f"/#/household/{hid}")
    page.click("#record-visit")
    page.wait_for_selector("#visit-form")


def test_visit_form_is_built_from_the_services_given(page, api):
    """Point 8: five residents, yet the form opens with no service dropdown; picking CKS and
    ticking three people (one "already had") and the household's TMĐT costs a few taps."""
    tag = uuid.uuid4().hex[:6]
    names = ["Lò Thị Một", "Lò Văn Hai", "Lò Thị Ba", "Lò Văn Bốn", "Lò Thị Năm"]
    token, hid, ids = _home_with_people(api, names, tag)
    login(page)
    _open_visit_form(page, hid)
    form = page.locator("#visit-form")
    expect(page.locator("#svc-empty")).to_be_visible()
    assert form.locator("select").count() == 0  # was 11 per resident: 55 here
    page.locator("#outcome").get_by_label("Hoàn thành", exact=True).check()
    shot(page, "50-visit-form-empty")
    card = give_service(page, "CKS", who=(f"Lò Thị Một {tag}", f"Lò Văn Hai {tag}"), provider="VNPT")
    give_service(page, "VNEID", who=(f"Lò Thị Ba {tag}",), result="already_had")
    row = card.locator(".svc-row").filter(has_text=f"Lò Thị Năm {tag}")
    row.locator(".svc-who").check()
    row.get_by_label("Đã có từ trước", exact=True).check()
    give_service(page, "TMDT", result="in_progress")
    expect(card.locator(".tag")).to_have_text("3 người")
    # Only what was touched is on screen; untouched people show no result choices.
    expect(page.locator(".svc-card")).to_have_count(3)
    expect(card.locator(".svc-row").filter(has_text=f"Lò Thị Ba {tag}").locator(".svc-results")).to_be_hidden()
    assert form.locator("select").count() == 1  # CKS's provider, once for everyone ticked
    # One thumb: every control to tap is at least 40 px tall.
    heights = card.locator(".svc-results .chip, .svc-row > .check").evaluate_all(
        "(els) => els.filter((e) => e.offsetParent).map((e) => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 40, heights
    card.scroll_into_view_if_needed()
    shot(page, "51-visit-form-services")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")
    wait_counts(page, timeout=60, pending=0)
    (stored,) = api.visits(token, hid)
    lines = sorted((s["code"], s["resident_id"], s["result"], s["provider"]) for s in stored["services"])
    assert lines == sorted([("CKS", ids[0], "done", "VNPT"), ("CKS", ids[1], "done", "VNPT"),
                            ("CKS", ids[4], "already_had", "VNPT"), ("VNEID", ids[2], "already_had", None),
                            ("TMDT", None, "in_progress", None)])


def test_a_resident_who_refuses_consent_is_recorded_and_served(context, page, api):
    """Point 4: "không đồng ý" hides name and phone; the resident is stored anonymised with birth
    year and sex, offline first, and a service given to them reaches the server."""
    tag = uuid.uuid4().hex[:6]
    token, hid, _ = _home_with_people(api, ["Lò Thị Chủ"], tag)
    login(page)
    context.set_offline(True)
    page.goto(f"/#/household/{hid}")
    page.click("#add-resident")
    page.wait_for_selector("#resident-form")
    page.locator("#consent-refused").check()
    expect(page.get_by_label("Họ và tên")).to_be_hidden()
    expect(page.get_by_label("Số điện thoại")).to_be_hidden()
    expect(page.locator("#consent-given")).to_be_hidden()
    page.get_by_label("Năm sinh").fill("1950")
    page.locator("#sex").get_by_label("Nam").check()
    shot(page, "52-resident-refused")
    page.click("#save-resident")
    page.wait_for_selector("#record-visit")
    refused = page.locator(".list li").filter(has_text="Người không đồng ý cung cấp thông tin")
    expect(refused).to_have_count(1)
    expect(refused.locator(".tag.refused")).to_have_text("Không đồng ý")

    page.click("#record-visit")
    page.wait_for_selector("#visit-form")
    page.locator("#outcome").get_by_label("Hoàn thành", exact=True).check()
    give_service(page, "VNEID", who=("Người không đồng ý (Nam, sinh 1950)",))
    shot(page, "53-visit-refused-person")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")
    context.set_offline(False)
    wait_counts(page, timeout=60, pending=0, rejected=0)

    residents = [c["data"] for c in api.pull_all(token).values()
                 if c["type"] == "resident" and c["data"] and c["data"]["household_id"] == hid]
    (anon,) = [r for r in residents if r["birth_year"] == 1950]
    assert anon["full_name"] is None and anon["phone"] is None and anon["sex"] == "M"
    assert anon["anonymised"] is True and anon["consent"]["given"] is False
    (stored,) = api.visits(token, hid)
    assert [(s["code"], s["resident_id"], s["result"]) for s in stored["services"]] == [
        ("VNEID", anon["id"], "done")]


def test_visits_open_and_are_corrected_before_and_after_sending(context, page, browser, server, api):
    """Point 7: an unsent visit opens and is corrected in place (one visit reaches the server); a
    sent one is corrected as revision 2 under the same id, and the office list marks it."""
    tag = uuid.uuid4().hex[:6]
    token, hid, ids = _home_with_people(api, ["Lò Thị Sửa"], tag)
    login(page)
    context.set_offline(True)
    _open_visit_form(page, hid)
    page.locator("#outcome").get_by_label("Hoàn thành một phần", exact=True).check()
    give_service(page, "VNEID")
    page.click("#save-visit")
    page.wait_for_selector("#record-visit")
    page.locator("#visit-list li a").first.click()
    page.wait_for_selector("#visit-view")
    expect(page.locator("#visit-state")).to_have_text("Chờ gửi")
    page.click("#edit-visit")
    page.wait_for_selector("#visit-form")
    page.locator("#outcome").get_by_label("Hoàn thành", exact=True).check()
    page.click("#save-visit")
    page.wait_for_selector("#visit-view")
    expect(page.locator("#visit-outcome")).to_have_text("Hoàn thành")
    context.set_offline(False)
    wait_counts(page, timeout=60, pending=0)
    (stored,) = api.visits(token, hid)
    assert stored["outcome"] == "completed" and stored["revision"] == 1

    # Sent: a correction is a revision; the member fixes the result and adds CKS.
    page.goto(f"/#/visit/{stored['id']}")
    expect(page.locator("#visit-state")).to_have_text("Đã gửi")
    page.click("#edit-visit")
    page.wait_for_selector("#revision-notice")
    expect(page.locator("h1")).to_contain_text("Sửa lượt thăm đã gửi")
    page.locator(".svc-card[data-code='VNEID']").get_by_label("Đã có từ trước", exact=True).check()
    give_service(page, "CKS", provider="Viettel")
    page.get_by_label("Ghi chú").fill(f"Sửa sau khi gửi {tag}")
    shot(page, "54-visit-revision-form")
    page.click("#save-visit")
    page.wait_for_selector("#visit-view")
    wait_counts(page, timeout=60, pending=0, rejected=0, conflict=0)
    page.goto(f"/#/visit/{stored['id']}")
    expect(page.locator("#visit-revision")).to_have_text("Đã sửa (1 lần)")
    shot(page, "55-visit-view-revised")
    (revised,) = api.visits(token, hid)
    assert revised["id"] == stored["id"] and revised["revision"] == 2
    assert sorted((s["code"], s["result"], s["provider"]) for s in revised["services"]) == [
        ("CKS", "done", "Viettel"), ("VNEID", "already_had", None)]

    office, desk = office_desk(browser, server)
    desk.goto(f"/office/visits/{stored['id']}")
    expect(desk.locator(".corrected-note")).to_contain_text("Thành viên đã sửa lượt thăm sau khi gửi")
    expect(desk.get_by_text(f"Sửa sau khi gửi {tag}")).to_be_visible()
    desk.screenshot(path=str(ARTIFACTS / "56-office-corrected.png"))
    office.close()
