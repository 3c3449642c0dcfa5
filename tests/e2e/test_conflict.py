"""A household edited on the phone offline and, meanwhile, by the team lead: the phone shows the
conflict and the member resolves it by choosing a version."""
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import login, shot, wait_counts

pytestmark = pytest.mark.e2e


def _edit_address(page, household_id, address):
    page.goto(f"/#/household/{household_id}/edit")
    page.get_by_label("Địa chỉ").fill(address)
    page.click("#save-household")
    page.wait_for_selector("#record-visit")


def test_conflict_is_shown_and_resolved_by_choosing_a_version(context, page, api):
    login(page)
    links = page.locator("#household-list li a")
    keep_id, drop_id = (links.nth(i).get_attribute("href").split("/")[-1] for i in (0, 1))
    tag = uuid.uuid4().hex[:6]

    context.set_offline(True)
    _edit_address(page, keep_id, f"Tổ 1, sửa trên điện thoại {tag}")
    _edit_address(page, drop_id, f"Tổ 2, sửa trên điện thoại {tag}")

    # Meanwhile the team lead (same hamlets) edits both households on the server.
    lead = api.token("demo.lead")
    server = api.pull_all(lead)
    items = []
    for hid in (keep_id, drop_id):
        change = server[("household", hid)]
        data = {k: v for k, v in change["data"].items() if k != "id"}
        data["address"] = f"Sửa bởi tổ trưởng {tag}"
        items.append({"type": "household", "id": hid, "base_version": change["version"], "data": data})
    assert [r["status"] for r in api.push(lead, items)] == ["updated", "updated"]

    context.set_offline(False)
    wait_counts(page, timeout=60, conflict=2, pending=0)
    page.goto("/#/sync")
    conflicts = page.locator(".conflict-item")
    expect(conflicts).to_have_count(2)
    keep = page.locator(f".conflict-item[data-id='{keep_id}']")
    expect(keep.locator("tr.changed")).to_contain_text(f"Tổ 1, sửa trên điện thoại {tag}")
    expect(keep.locator("tr.changed")).to_contain_text(f"Sửa bởi tổ trưởng {tag}")
    shot(page, "11-conflict")

    keep.get_by_role("button", name="Giữ bản của tôi").click()
    page.locator(f".conflict-item[data-id='{drop_id}']").get_by_role("button", name="Dùng bản trên máy chủ").click()
    wait_counts(page, timeout=60, conflict=0, pending=0, rejected=0)

    after = api.pull_all(api.token("demo.member"))
    assert after[("household", keep_id)]["data"]["address"] == f"Tổ 1, sửa trên điện thoại {tag}"
    assert after[("household", keep_id)]["version"] > server[("household", keep_id)]["version"] + 1
    assert after[("household", drop_id)]["data"]["address"] == f"Sửa bởi tổ trưởng {tag}"
    # And the phone shows the version the member chose for each.
    page.goto(f"/#/household/{drop_id}")
    expect(page.locator("#view")).to_contain_text(f"Sửa bởi tổ trưởng {tag}")
    page.goto(f"/#/household/{keep_id}")
    expect(page.locator("#view")).to_contain_text(f"Tổ 1, sửa trên điện thoại {tag}")
