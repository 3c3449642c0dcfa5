"""A record the server rejects is quarantined: it stays visible with the server's reasons for the
member to fix or drop, and never blocks the records queued after it. Consent withdrawal syncs too."""
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import items, login, record_visit, shot, wait_counts

pytestmark = pytest.mark.e2e

BAD_VISIT = """async (householdId) => {
  const { write } = await import('/app/db.js');
  const { putInOutbox } = await import('/app/outbox.js');
  const { nowIso, uuid } = await import('/app/ids.js');
  const id = uuid();
  await write(['outbox'], (tx) => putInOutbox(tx, { type: 'visit', id, data: {
    household_id: householdId, visited_at: nowIso(), location: null, outcome: 'completed', notes: '',
    services: [{ code: 'KHONG_CO', resident_id: null, result: 'done' }], follow_up_on: null } }));
  return id;
}"""


def test_rejected_item_is_quarantined_and_never_blocks_the_rest(context, page, api):
    login(page)
    page.locator("#household-list li a").nth(4).click()
    page.wait_for_selector("#record-visit")
    household_id = page.url.split("#/household/")[1]

    context.set_offline(True)
    bad_id = page.evaluate(BAD_VISIT, household_id)  # queued first …
    record_visit(page, notes="Lượt hợp lệ sau mục lỗi")  # … this one after it
    good_id = next(i["id"] for i in items(page) if i["id"] != bad_id)

    context.set_offline(False)
    wait_counts(page, timeout=60, pending=0, rejected=1)
    page.goto("/#/sync")
    rejected = page.locator(".rejected-item")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("Dịch vụ không có hoặc đã ngừng")  # code unknown_service
    shot(page, "15-rejected")
    stored = {v["id"] for v in api.visits(api.token("demo.member"), household_id)}
    assert good_id in stored and bad_id not in stored

    page.once("dialog", lambda d: d.accept())
    rejected.get_by_role("button", name="Bỏ").click()
    wait_counts(page, timeout=30, pending=0, rejected=0, conflict=0)


def test_consent_withdrawal_reaches_the_server(context, page, api):
    login(page)
    page.locator("#household-list li a").nth(5).click()
    page.wait_for_selector("#record-visit")
    page.locator("#view .list a[href^='#/resident/']").first.click()
    page.wait_for_selector("#resident-form")
    resident_id = page.url.split("#/resident/")[1].split("/")[0]
    page.once("dialog", lambda d: d.accept())
    page.click("#withdraw-consent")
    page.wait_for_selector("#record-visit")
    wait_counts(page, timeout=60, pending=0, rejected=0, conflict=0)
    change = api.pull_all(api.token("demo.member"))[("resident", resident_id)]
    assert change["data"]["consent"]["given"] is False
    assert change["data"]["anonymised"] is True and not change["data"]["full_name"]


def test_a_cursor_the_server_does_not_know_restarts_the_pull(page):
    login(page)
    before = page.locator("#household-list li").count()
    page.evaluate("import('/app/db.js').then((m) => m.setMeta('cursor', 'not-a-cursor'))")
    page.goto("/#/sync")
    page.click("#sync-now")
    page.wait_for_function("import('/app/db.js').then((m) => m.getMeta('cursor'))"
                           ".then((c) => Boolean(c) && c !== 'not-a-cursor')")
    assert page.locator("#last-error").count() == 0
    page.goto("/#/")
    page.wait_for_selector("#household-list li")
    assert page.locator("#household-list li").count() == before
