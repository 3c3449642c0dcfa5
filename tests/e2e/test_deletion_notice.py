"""Pull's deletion notices (`{"type", "id", "deleted": true, "data": null}`, sent when a record
leaves the member's hamlets): the household leaves the phone with its residents, follow-ups, sent
visit history and drafts; an unsent edit stays, shown for the member to resolve; a notice with no
data, or about a record the phone never had, breaks nothing.

The notices are added to a real pull page by the test, so it does not depend on how the server
decides that a household left a member's scope."""
import json
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import login, record_visit, shot, wait_counts

pytestmark = pytest.mark.e2e

ROWS = """([store, index, key]) => import('/app/db.js').then(async ({ getDB }) => {
  const db = await getDB();
  return index ? db.getAllFromIndex(store, index, key) : db.get(store, key);
})"""


def _rows(page, store, index, key):
    return page.evaluate(ROWS, [store, index, key])


def test_a_pulled_deletion_notice_removes_the_household(context, page):
    login(page)
    hamlet_url = page.url
    links = page.locator("#household-list li a")
    gone_id, kept_id = (links.nth(i).get_attribute("href").split("/")[-1] for i in (6, 7))
    gone_name = page.locator(f"#household-list a[href$='{gone_id}'] .item-title").inner_text()

    # The household that will leave: a visit with a follow-up (stored, pulled back) and a draft.
    page.goto(f"/#/household/{gone_id}")
    page.wait_for_selector("#record-visit")
    record_visit(page, notes="Lượt trước khi hộ chuyển đi", follow_up=(date.today() + timedelta(days=7)).isoformat())
    wait_counts(page, timeout=60, pending=0, rejected=0, conflict=0)
    page.wait_for_function("""(id) => import('/app/db.js').then(async ({ getDB }) =>
        (await (await getDB()).getAllFromIndex('followups', 'household_id', id)).length > 0)""", arg=gone_id, timeout=30000)
    residents = [r["id"] for r in _rows(page, "residents", "household_id", gone_id)]
    followups = [f["id"] for f in _rows(page, "followups", "household_id", gone_id)]
    assert residents and followups
    page.click("#record-visit")
    page.get_by_label("Ghi chú").fill("Bản nháp của hộ sắp chuyển đi")
    page.wait_for_selector(".draft-status:has-text('Đã lưu nháp')")
    page.goto(f"/#/household/{gone_id}")
    page.wait_for_selector("#record-visit")
    assert _rows(page, "drafts", None, f"visit:{gone_id}") is not None

    # The household that leaves while the member has an unsent edit of it.
    context.set_offline(True)
    page.goto(f"/#/household/{kept_id}/edit")
    tag = uuid.uuid4().hex[:6]
    page.get_by_label("Địa chỉ").fill(f"Tổ 8, sửa trước khi chuyển {tag}")
    page.click("#save-household")
    page.wait_for_selector("#record-visit")

    def push(route):  # the server refuses that edit: the household is no longer the member's
        response = route.fetch()
        body = response.json() if response.status == 200 else None
        if body is None:
            route.fulfill(response=response)
            return
        for result in body["results"]:
            if result["id"] == kept_id:
                result.update(status="rejected", version=None, errors={"hamlet_id": ["outside your hamlets"]},
                              codes={"hamlet_id": ["out_of_scope"]})
        route.fulfill(response=response, body=json.dumps(body))

    notices = [
        {"type": "household", "id": gone_id, "version": 9, "deleted": True, "data": None},
        *({"type": "resident", "id": rid, "version": 9, "deleted": True, "data": None} for rid in residents[:1]),
        *({"type": "followup", "id": fid, "version": 1, "deleted": True, "data": None} for fid in followups),
        {"type": "household", "id": kept_id, "version": 9, "deleted": True, "data": None},
        {"type": "household", "id": str(uuid.uuid4()), "version": 1, "deleted": True, "data": None},
        {"type": "resident", "id": str(uuid.uuid4()), "version": 1, "deleted": False, "data": None},
    ]
    sent = []

    def pull(route):
        response = route.fetch()
        body = response.json() if response.status == 200 else None
        if body is None or sent:
            route.fulfill(response=response)
            return
        body["changes"] += notices
        sent.append(True)
        route.fulfill(response=response, body=json.dumps(body))

    context.route("**/api/v1/sync/push", push)
    context.route("**/api/v1/sync/pull*", pull)
    page.goto(hamlet_url)
    expect(page.locator(f"#household-list a[href$='{gone_id}']")).to_have_count(1)
    context.set_offline(False)  # syncs by itself; the list on screen updates when it is done

    expect(page.locator(f"#household-list a[href$='{gone_id}']")).to_have_count(0, timeout=60000)
    assert sent
    kept = page.locator(f"#household-list a[href$='{kept_id}']")
    expect(kept).to_contain_text("Bị từ chối")  # the member's edit is still there, and says why
    shot(page, "22-deletion-notice")

    # Everything bound to the household is gone; the unsent edit is kept apart from the server copy.
    assert _rows(page, "households", None, gone_id) is None
    assert _rows(page, "residents", "household_id", gone_id) == []
    assert _rows(page, "followups", "household_id", gone_id) == []
    assert _rows(page, "visits", "household_id", gone_id) == []
    assert _rows(page, "drafts", None, f"visit:{gone_id}") is None
    kept_row = _rows(page, "households", None, kept_id)
    assert kept_row["data"] is None and kept_row["local"]["address"] == f"Tổ 8, sửa trước khi chuyển {tag}"

    page.goto(f"/#/household/{gone_id}")
    expect(page.locator("#view h1")).to_have_text("Không tìm thấy hộ")
    page.goto("/#/followups")
    page.wait_for_selector("#followup-list")
    expect(page.locator("#followup-list")).not_to_contain_text(gone_name)
    page.goto("/#/sync")
    expect(page.locator(".rejected-item")).to_contain_text("Ngoài các ấp/khu phố bạn phụ trách")
    page.wait_for_selector("#last-sync")
    assert page.locator("#last-error").count() == 0
