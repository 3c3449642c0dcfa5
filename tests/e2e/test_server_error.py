"""A server that fails in the middle of a sync (500 on the push, then on a photo upload) loses
nothing: the outbox keeps every item, the app retries with backoff, and the server ends up with
each record exactly once."""
import pytest

from tests.e2e.helpers import counts, items, login, record_visit, shot, wait_counts

pytestmark = pytest.mark.e2e


def test_500_mid_sync_loses_nothing_and_retries(context, page, api, jpeg):
    login(page)
    page.locator("#household-list li a").nth(2).click()
    page.wait_for_selector("#record-visit")
    household_id = page.url.split("#/household/")[1]

    context.set_offline(True)
    record_visit(page, photo=jpeg, notes="Lượt 1 (máy chủ lỗi)")
    record_visit(page, photo=jpeg, notes="Lượt 2 (máy chủ lỗi)")
    assert counts(page) == {"pending": 2, "rejected": 0, "conflict": 0, "photos": 2}
    visit_ids = sorted(i["id"] for i in items(page))

    calls = {"push": 0, "photo": 0}

    def push(route):
        calls["push"] += 1
        if calls["push"] == 1:
            route.fulfill(status=500, json={"error": {"code": "internal_error", "message": "boom"}})
        else:
            route.continue_()

    def photo(route):
        if route.request.method != "PUT":
            route.continue_()
            return
        calls["photo"] += 1
        if calls["photo"] == 1:  # the visits are stored by now: this failure is mid-sync
            route.fulfill(status=500, json={"error": {"code": "internal_error", "message": "boom"}})
        else:
            route.continue_()

    context.route("**/api/v1/sync/push", push)
    context.route("**/api/v1/visits/*/photos/*", photo)
    page.goto("/#/sync")
    context.set_offline(False)

    page.wait_for_selector("#last-error")  # the 500 is reported …
    assert calls["push"] == 1
    assert counts(page) == {"pending": 2, "rejected": 0, "conflict": 0, "photos": 2}  # … and nothing is lost
    assert "500" in page.inner_text("#last-error")
    shot(page, "12-sync-error")

    # The backoff retries by itself: push succeeds, one photo fails (500), the next retry sends it.
    wait_counts(page, timeout=90, pending=0, photos=0, rejected=0, conflict=0)
    assert calls["push"] >= 2 and calls["photo"] >= 3
    page.wait_for_selector("#last-error", state="detached")

    token = api.token("demo.member")
    stored = [v for v in api.visits(token, household_id) if v["id"] in visit_ids]
    assert sorted(v["id"] for v in stored) == visit_ids  # each exactly once
    assert all(len(v["photos"]) == 1 for v in stored)
