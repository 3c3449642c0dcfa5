"""A rejected item is explained in Vietnamese: push results carry stable `codes` per field
(server/vocab.py ERROR_CODES) and the sync screen shows static/app/labels.js's label for each,
falling back to the server's English text only for a code this app version does not know.

The rejections are written into the real server's answer by the test (the real server's own codes
are covered by tests/test_hardening_push.py), so the test does not hang on which record it refuses."""
import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import items, login, register_household, shot, wait_counts

pytestmark = pytest.mark.e2e

REJECTIONS = {
    "phone": {"errors": {"phone": ["not a valid Vietnamese phone number"],
                         "visited_at": ["in the future (check the phone's clock)"]},
              "codes": {"phone": ["invalid_phone"], "visited_at": ["in_future"]}},
    "novel": {"errors": {"address": ["a reason this app has never heard of"]},
              "codes": {"address": ["brand_new_code"]}},
}


def test_rejections_are_shown_with_vietnamese_labels(context, page):
    login(page)
    tag = uuid.uuid4().hex[:6]
    hamlet_url = page.url
    context.set_offline(True)
    ids = {}  # head names sort after every seeded household: other tests pick by position
    for key in REJECTIONS:
        page.goto(hamlet_url)
        page.wait_for_selector("#new-household")
        ids[key] = register_household(page, f"Yên {key} {tag}")
    by_id = {v: k for k, v in ids.items()}

    def push(route):
        response = route.fetch()
        body = response.json() if response.status == 200 else None
        if body is None:
            route.fulfill(response=response)
            return
        for result in body["results"]:
            if result["id"] in by_id:
                result.update(status="rejected", version=None, **REJECTIONS[by_id[result["id"]]])
        route.fulfill(response=response, body=json.dumps(body))

    context.route("**/api/v1/sync/push", push)
    context.set_offline(False)
    wait_counts(page, timeout=60, pending=0, rejected=2)
    page.goto("/#/sync")
    rejected = page.locator(".rejected-item")
    expect(rejected).to_have_count(2)

    known = rejected.filter(has_text=f"Yên phone {tag}")
    expect(known.locator("li[data-field='phone']")).to_have_text("Số điện thoại: Số điện thoại không hợp lệ")
    expect(known.locator("li[data-field='visited_at']")).to_have_text(
        "Thời gian: Thời gian ở tương lai (kiểm tra đồng hồ điện thoại)")
    expect(known).not_to_contain_text("not a valid")
    novel = rejected.filter(has_text=f"Yên novel {tag}")
    expect(novel.locator("li[data-field='address']")).to_have_text("Địa chỉ: a reason this app has never heard of")
    stored = {i["id"]: i for i in items(page)}
    assert stored[ids["phone"]]["codes"] == REJECTIONS["phone"]["codes"]
    page.locator("#rejected-list").scroll_into_view_if_needed()
    shot(page, "21-rejection-codes")
