"""A field day on a phone: log in online, lose the network, register a household and record three
visits with photos, close the app, reopen it, get the network back, and find exactly those records
on the server."""
import datetime as dt
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (add_resident, counts, items, login, record_visit, register_household, shot,
                               wait_counts)

pytestmark = pytest.mark.e2e


def test_offline_day_then_everything_syncs(context, page, api, jpeg):
    page.goto("/")
    page.wait_for_selector("form button[type=submit]")
    shot(page, "01-login")
    login(page)
    shot(page, "02-households")

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#household-list li")  # the shell and the data both came from the phone
    assert page.inner_text("#net") == "Ngoại tuyến"

    tag = uuid.uuid4().hex[:6]
    head = f"Nguyễn Thị Thử {tag}"
    household_id = register_household(page, head, members=3, adults=2, screenshot="05-household-form")
    add_resident(page, f"Đặng Văn Bình {tag}", birth_year=1975, sex="Nam", screenshot="06-resident-form")
    shot(page, "04-household")
    follow_up = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    for i in range(3):
        record_visit(page, photo=jpeg, notes=f"Lượt thăm thứ {i + 1}", follow_up=follow_up if i == 0 else None,
                     screenshot="07-visit-form" if i == 0 else None)
    assert counts(page) == {"pending": 5, "rejected": 0, "conflict": 0, "photos": 3}
    queued = items(page)
    visit_ids = sorted(i["id"] for i in queued if i["type"] == "visit")
    resident_ids = [i["id"] for i in queued if i["type"] == "resident"]
    photos = page.evaluate("import('/app/db.js').then((m) => m.getDB()).then((db) => db.getAll('photos'))"
                           ".then((rows) => rows.map((r) => ({id: r.id, visit_id: r.visit_id, size: r.blob.size})))")
    assert sorted(p["visit_id"] for p in photos) == visit_ids
    # Downscaled on the phone: a 2400×1800 camera file becomes a much smaller JPEG.
    assert all(0 < p["size"] < jpeg.stat().st_size for p in photos)

    # Diacritics-insensitive search, offline: "nguyen thi thu" finds "Nguyễn Thị Thử", đ folds to d.
    page.goto(f"/#/hamlet/{_hamlet_of(page, household_id)}")
    page.fill("#hh-search", f"nguyen thi thu {tag}")
    expect(page.locator("#household-list li")).to_have_count(1)
    expect(page.locator("#household-list li")).to_contain_text(head)
    page.fill("#hh-search", f"dang van binh {tag}")  # a resident's name finds the household too
    expect(page.locator("#household-list li")).to_have_count(1)
    expect(page.locator("#household-list li")).to_contain_text(head)
    shot(page, "03-search")

    page.goto("/#/followups")
    # The first visit's follow-up is already settled by the two later completed visits, as the
    # server will settle it: listed as done, waiting to be sent.
    page.wait_for_selector(f"#followup-done-list li:has-text('{head}'):has-text('Chờ gửi')")
    shot(page, "08-followups")

    # A visit form in progress survives the app being swiped away.
    page.goto(f"/#/household/{household_id}/visit")
    page.get_by_label("Ghi chú").fill("Đang ghi dở, chưa lưu")
    page.wait_for_selector(".draft-status:has-text('Đã lưu nháp')")
    page.close()

    page2 = context.new_page()
    page2.goto("/#/sync")  # still offline: reopened from the service worker's cache
    page2.wait_for_selector("#stat-pending")
    assert page2.inner_text("#stat-pending b") == "5"
    assert page2.inner_text("#stat-photos b") == "3"
    assert counts(page2) == {"pending": 5, "rejected": 0, "conflict": 0, "photos": 3}
    shot(page2, "09-sync-offline")
    page2.goto(f"/#/household/{household_id}/visit")
    assert page2.get_by_label("Ghi chú").input_value() == "Đang ghi dở, chưa lưu"
    page2.goto("/#/sync")

    context.set_offline(False)  # the `online` event starts the sync
    wait_counts(page2, timeout=60, pending=0, photos=0, rejected=0, conflict=0)
    page2.wait_for_selector("#last-sync:not(:has-text('chưa có'))")
    shot(page2, "10-sync-done")

    token = api.token("demo.member")
    changes = api.pull_all(token)
    hh = changes[("household", household_id)]["data"]
    assert (hh["head_name"], hh["members_count"], hh["adults_count"]) == (head, 3, 2)
    assert hh["location"]["accuracy_m"] == 12
    residents = [c for (t, _), c in changes.items() if t == "resident" and c["data"]["household_id"] == household_id]
    assert [r["id"] for r in residents] == resident_ids
    assert residents[0]["data"]["full_name"] == f"Đặng Văn Bình {tag}"
    visits = api.visits(token, household_id)
    assert sorted(v["id"] for v in visits) == visit_ids
    by_visit = {v["id"]: [p["id"] for p in v["photos"]] for v in visits}
    assert {p["visit_id"]: [p["id"]] for p in photos} == by_visit
    cks = [s for v in visits for s in v["services"] if s["code"] == "CKS"]
    assert len(cks) == 3 and all(s["provider"] == "VNPT" and s["resident_id"] == resident_ids[0] for s in cks)


def _hamlet_of(page, household_id):
    return page.evaluate(f"import('/app/records.js').then((m) => m.household('{household_id}')).then((h) => h.hamlet_id)")
