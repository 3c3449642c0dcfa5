"""Stored XSS and CSRF on the consoles (office, province, admin).

XSS: every free text a console shows (household head name and address, resident name, visit
notes, the follow-up note made from them, the review comment, a member's display name) is
stored with a script payload of its own through the public surface (the phone's push and the
review form; the member's account is made as the CLI makes it). Every
console page is then read as the roles that see it: no payload may come back raw, and each
must come back escaped on the pages that show its field (so a page that stopped showing a field
does not pass by accident).

CSRF: every unsafe route outside the JSON API (enumerated from ``url_map``, so a new form is
covered the day it is added) refuses a POST without a token, with a forged one and with another
session's, before its view runs; nothing changes.
"""
import re
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from markupsafe import escape
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from server.extensions import db
from server.models import Campaign
from server.services import accounts
from tests.attack_helpers import anonymous, bearer, browser, module_app, snapshot
from tests.conftest import jobs_settled
from tests.factories import PASSWORD, make_world
from tests.sync_helpers import household, push, resident, soon
from tests.sync_helpers import visit as visit_item

PAYLOADS = {
    "head_name": '<script>alert("head")</script>',
    "address": '"><img src=x onerror=alert("addr")>',
    "resident_name": "<svg onload=alert('resident')>",
    "notes": '</textarea><script>alert("notes")</script>',
    "comment": "<iframe src=javascript:alert('comment')></iframe>",
    "display_name": "<b onmouseover=alert('member')>Tổ viên</b>",
}
# Where each field must show (escaped): a page that stops showing one is noticed here.
SHOWN_ON = {
    "head_name": ("visit", "duplicates", "merge", "overview"),
    "address": ("visit", "duplicates", "merge", "overview"),
    "resident_name": ("visit",),
    "notes": ("visit", "overview"),  # the follow-up's note is made from the visit's notes
    "comment": ("visit",),
    "display_name": ("visits", "visit", "admin_users"),
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
TABLES = ("households", "residents", "visits", "followups", "hamlets", "teams", "users",
          "api_keys", "services", "targets", "campaigns", "month_approvals")


@pytest.fixture(scope="module")
def stored(database_template, media_root, rq_worker, tmp_path_factory):
    """Commune A with every payload stored, and browsers of the officer, analyst and admin."""
    app = module_app(database_template, media_root, tmp_path_factory.mktemp("xss"))
    with app.app_context():
        world = make_world()
        writer = accounts.create_user(f"xss.{world.commune.code}", PASSWORD, "member",
                                      team_id=world.teams[0].id,
                                      display_name=PAYLOADS["display_name"])
        ids = SimpleNamespace(
            hamlet=world.hamlets[0].id, team=world.teams[0].id, commune=world.commune.id,
            member=writer.id, campaign=db.session.scalar(select(Campaign.id)))
        users = dict(world.users)
        writer = writer.username
    client = app.test_client()
    phone = bearer(client, writer)
    # Outside the hamlet (the flags page lists it) and yesterday (the overview's default period).
    when = datetime.now(timezone(timedelta(hours=7))) - timedelta(days=1)
    hh = household(ids.hamlet, head_name=PAYLOADS["head_name"], address=PAYLOADS["address"])
    twin = household(ids.hamlet, head_name=PAYLOADS["head_name"], address=PAYLOADS["address"])
    person = resident(hh["id"], full_name=PAYLOADS["resident_name"])
    seen = visit_item(hh["id"], when=when, notes=PAYLOADS["notes"], follow_up_on=soon(),
                      services=[{"code": "CKS", "resident_id": person["id"], "result": "done",
                                 "provider": "VNPT"}],
                      location={"lat": 10.0, "lon": 100.0, "accuracy_m": 10})
    code, body = push(client, phone, [hh, twin, person, seen])
    assert code == 200 and {r["status"] for r in body["results"]} == {"created"}, body
    officer = browser(app, users["commune_officer"])
    resp = officer.post(f"/office/visits/{seen['id']}/review", data={
        "state": "has_issues", "comment": PAYLOADS["comment"], "expected_state": "received",
        "csrf_token": officer.csrf})
    assert resp.status_code == 302
    with app.app_context():
        assert jobs_settled()
    ids.visit, ids.household, ids.twin = seen["id"], hh["id"], twin["id"]
    yield SimpleNamespace(app=app, ids=ids, users=users, officer=officer,
                          lead=browser(app, users["team_lead"]),
                          analyst=browser(app, users["province_analyst"], "province"),
                          admin=browser(app, users["admin"], "admin"))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _plain_pages(app, prefix):
    """GET routes under ``prefix`` without path parameters (every list and form page)."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix) and "GET" in rule.methods and not rule.arguments \
                and "/static/" not in rule.rule and not rule.rule.endswith(("/login",)):
            yield rule.rule


def _pages(stored):
    """``(name, browser, path)`` of every console page that may show the stored texts."""
    ids, pages = stored.ids, []
    for path in _plain_pages(stored.app, "/office/"):
        name = {"/office/": "overview", "/office/visits": "visits",
                "/office/duplicates": "duplicates"}.get(path, path)
        pages.append((name, stored.officer, path))
        pages.append((name + " (lead)", stored.lead, path))
    pages += [
        ("visit", stored.officer, f"/office/visits/{ids.visit}"),
        ("visit (lead)", stored.lead, f"/office/visits/{ids.visit}"),
        ("merge", stored.officer, f"/office/merge?survivor={ids.household}&other={ids.twin}"),
        ("flags", stored.officer, "/office/flags?first=2020-01-01&last=2030-12-31"),
        ("print", stored.officer, "/office/reports/print?first=2020-01-01&last=2030-12-31"),
        ("admin_users", stored.admin, f"/admin/users?commune={ids.commune}"),  # a page of many
        ("admin_user", stored.admin, f"/admin/users/{ids.member}"),
        ("admin_team", stored.admin, f"/admin/teams/{ids.team}"),
        ("admin_hamlet", stored.admin, f"/admin/hamlets/{ids.hamlet}"),
        ("admin_commune", stored.admin, f"/admin/communes/{ids.commune}"),
    ]
    pages += [(path, stored.admin, path) for path in _plain_pages(stored.app, "/admin/")]
    pages += [(path, stored.analyst, path) for path in _plain_pages(stored.app, "/province/")]
    return pages


def test_stored_payloads_are_escaped_on_every_console_page(stored):
    shown = {field: set() for field in PAYLOADS}
    for name, client, path in _pages(stored):
        resp = client.get(path)
        assert resp.status_code < 500, (path, resp.status_code)
        if resp.mimetype != "text/html":
            continue
        page = resp.get_data(as_text=True)
        for field, payload in PAYLOADS.items():
            assert payload not in page, f"{field} unescaped on {path}"
            if str(escape(payload)) in page:
                shown[field].add(name.removesuffix(" (lead)"))
        # Nothing the payloads could have opened: no script but the console's own files.
        assert not re.search(r"<script(?![^>]*\bsrc=\"/(office|province)/static/)", page), path
        assert not re.search(r"<(img|svg|iframe)[^>]*\bon\w+=", page), path
    for field, names in SHOWN_ON.items():
        missing = set(names) - shown[field]
        assert not missing, f"{field} is not shown (escaped) on {sorted(missing)}"


# --- CSRF ---------------------------------------------------------------------------------------

def _value(stored, arg, converter):
    ids = stored.ids
    if isinstance(converter, IntegerConverter):
        return {"hamlet_id": ids.hamlet, "team_id": ids.team, "user_id": ids.member,
                "commune_id": ids.commune, "campaign_id": ids.campaign or 1}.get(arg, 1)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return {"visit_id": ids.visit, "month": "2025-10", "code": "CKS",
            "photo_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4())}.get(arg, "x")


def _unsafe_routes(stored):
    adapter = stored.app.url_map.bind("localhost")
    for rule in stored.app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue
        for method in sorted(set(rule.methods) & set(UNSAFE)):
            values = {arg: _value(stored, arg, rule._converters[arg]) for arg in rule.arguments}
            yield method, rule.rule, adapter.build(rule.endpoint, values, method=method)


def _session_for(stored, path):
    if path.startswith("/admin/"):
        return stored.admin
    if path.startswith("/province/"):
        return stored.analyst
    return stored.officer


def test_every_console_form_refuses_a_post_without_a_valid_csrf_token(stored):
    with stored.app.app_context():
        before = snapshot(TABLES)
    routes = list(_unsafe_routes(stored))
    assert len(routes) >= 10, routes  # the enumeration found the consoles' forms
    other = anonymous(stored.app)  # a valid token, of another session
    for method, rule, path in routes:
        client = _session_for(stored, path)
        form = {"state": "approved", "comment": "csrf", "username": stored.users["admin"],
                "password": PASSWORD, "name": "csrf", "survivor": stored.ids.household,
                "other": stored.ids.twin}
        for token in (None, "forged-token", other.csrf):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            resp = client.open(path, method=method, data=data)
            assert resp.status_code == 400, (method, rule, token and token[:6], resp.status_code)
            assert "Content-Type" in resp.headers
    with stored.app.app_context():
        assert snapshot(TABLES) == before
    # And the officer's session is still signed in: a refused form changes nothing of it.
    assert stored.officer.get("/office/visits").status_code == 200
