"""IDOR matrix: every route of the app × every role and scope that must not reach the target.

The routes come from the app's ``url_map``: a route (path and method) that is not classified in
``CLASSIFIED`` (tests/attack_routes.py) fails ``test_every_route_is_classified`` with the exact entry to add, so a
new endpoint cannot be forgotten. Each classified route either holds nothing of anyone
(``Public``), answers only about the caller (``Own``), or has probes: requests aimed at the
target data (commune A, hamlet 1, team 1) sent by every attacker of its surface:

- API: a member and a team lead of A's other team, a member and the officer of commune B, the
  province analyst (no personal data), an analyst of another province, the admin (no personal
  data), the province's API key (aggregates only) and another province's key, and nobody.
- Pages: A's other team lead, B's officer and team lead, the province analysts of both
  provinces and the admin (signed in to their consoles), and nobody.

Every answer must be a refusal (401/403/404 in the error shape; a sign-in redirect or a
403/404 page) unless the probe is ``scoped`` (a list of the caller's own units, which may answer
but must show none of the target) or the attacker is ``entitled`` (the role may see it by
design, e.g. the analyst of the same province on coverage). No answer may contain the target's
markers, and at the end no row of the target (households, visits, reviews, baselines, users,
keys, catalogue, …) has changed.

One module-scoped data set; about a thousand requests.
"""
import io
import uuid
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey, Campaign, Photo, Province, ReportTask, User
from server.models.imports import RegistryImportTask
from server.services import accounts
from server.services.registry_template import csv_template
from tests.attack_helpers import anonymous, bearer, browser, module_app, snapshot
from tests.attack_routes import (API_ATTACKERS, CAMPAIGN, CLASSIFIED, COMMUNE, SECRET, TABLES,
                                 WEB_ATTACKERS)
from tests.conftest import wait_for
from tests.factories import PASSWORD, make_world
from tests.photo_helpers import jpeg_bytes, put_photo
from tests.sync_helpers import household, push, resident, soon
from tests.sync_helpers import visit as visit_item
from tests.test_coverage_definitions import cks

# --- the data set ---------------------------------------------------------------------------

_STATE = {}


@pytest.fixture(scope="module")
def matrix(database_template, media_root, rq_worker, tmp_path_factory):
    """Commune A (the target: hamlet 1, team 1) with data of every kind; commune B; province 79;
    the attackers' tokens and signed-in browsers."""
    app = module_app(database_template, media_root, tmp_path_factory.mktemp("idor"))
    with app.app_context():
        a, b = make_world(), make_world()
        a.commune.name = COMMUNE
        db.session.commit()
        lead2 = accounts.create_user(f"lead2.{a.commune.code}", PASSWORD, "team_lead",
                                     team_id=a.teams[1].id).username
        if db.session.scalar(select(Province).where(Province.code == "79")) is None:
            db.session.add(Province(code="79", name="Tỉnh khác", settings={}))
            db.session.commit()
        analyst79 = accounts.create_user(f"analyst79.{a.commune.code}", PASSWORD,
                                         "province_analyst", province_code="79").username
        key75, key79 = accounts.create_api_key("75"), accounts.create_api_key("79")
        campaign = Campaign(province_code="75", name=CAMPAIGN, date_from=date(2025, 10, 1),
                            date_to=date(2025, 10, 31), services=["CKS"], target=0.5)
        db.session.add(campaign)
        db.session.commit()
        d = SimpleNamespace(
            hamlet1=a.hamlets[0].id, hamlet1_code=a.hamlets[0].code, team1=a.teams[0].id,
            commune_id=a.commune.id, commune_code=a.commune.code, campaign=campaign.id,
            province_id=a.province.id,
            member_id=db.session.scalar(select(User.id).where(
                User.username == a.users["member"])),
            key75_id=max(db.session.scalars(select(ApiKey.id).where(
                ApiKey.province_id == a.province.id))),
            jpeg=jpeg_bytes((400, 300)))
        users_a, users_b = dict(a.users), dict(b.users)

    client = app.test_client()
    member = bearer(client, users_a["member"])
    hh = household(d.hamlet1, head_name=f"Nguyễn {SECRET}", address=f"Tổ 1 {SECRET}")
    twin = household(d.hamlet1, head_name=f"Nguyễn {SECRET}", address=f"Tổ 1 {SECRET}")
    person = resident(hh["id"], full_name=f"Trần {SECRET}")
    seen = visit_item(hh["id"], services=[cks(person["id"], "done")],
                      notes=f"Ghi chú {SECRET}", follow_up_on=soon())
    code, body = push(client, member, [hh, twin, person, seen])
    assert code == 200 and {r["status"] for r in body["results"]} == {"created"}, body
    d.household, d.twin, d.visit, d.photo = hh["id"], twin["id"], seen["id"], str(uuid.uuid4())
    assert put_photo(client, member, d.visit, d.photo, d.jpeg).status_code == 201

    officer = browser(app, users_a["commune_officer"])
    resp = officer.post(f"/office/visits/{d.visit}/review", data={
        "state": "has_issues", "comment": f"Nhận xét {SECRET}", "expected_state": "received",
        "csrf_token": officer.csrf})
    assert resp.status_code == 302, resp.status_code
    resp = officer.post("/office/reports", data={"first": "2025-10-01", "last": "2025-10-31",
                                                 "csrf_token": officer.csrf})
    assert resp.status_code == 302 and "#r-" in resp.headers["Location"]
    d.report_task = resp.headers["Location"].split("#r-")[1]
    resp = officer.post("/office/imports", data={
        "hamlet": str(d.hamlet1), "file": (io.BytesIO(csv_template()), "so-ho.csv"),
        "csrf_token": officer.csrf}, content_type="multipart/form-data")
    assert resp.status_code == 302 and "#i-" in resp.headers["Location"], resp.status_code
    d.import_task = resp.headers["Location"].split("#i-")[1]

    api = {
        "member_other_team": bearer(client, users_a["member2"]),
        "lead_other_team": bearer(client, lead2),
        "member_other_commune": bearer(client, users_b["member"]),
        "officer_other_commune": bearer(client, users_b["commune_officer"]),
        "analyst_same_province": bearer(client, users_a["province_analyst"]),
        "analyst_other_province": bearer(client, analyst79),
        "admin": bearer(client, users_a["admin"]),
        "key_same_province": {"X-API-Key": key75},
        "key_other_province": {"X-API-Key": key79},
        "anonymous": {},
    }
    web = {
        "lead_other_team": browser(app, lead2),
        "officer_other_commune": browser(app, users_b["commune_officer"]),
        "lead_other_commune": browser(app, users_b["team_lead"]),
        "analyst_same_province": browser(app, users_a["province_analyst"], "province"),
        "analyst_other_province": browser(app, analyst79, "province"),
        "admin": browser(app, users_a["admin"], "admin"),
        "anonymous": anonymous(app),
    }
    with app.app_context():
        photo_id = uuid.UUID(d.photo)
        assert wait_for(lambda: db.session.get(Photo, photo_id).state == "ready", timeout=60)
        # The jobs have finished: nothing changes under the snapshot but the attacks.
        for model, task_id in ((ReportTask, d.report_task), (RegistryImportTask, d.import_task)):
            task_uuid = uuid.UUID(task_id)
            assert wait_for(lambda: db.session.get(model, task_uuid).state in ("done", "failed"),
                            timeout=60)
        _STATE["before"] = snapshot(TABLES)
    yield SimpleNamespace(app=app, d=d, api=api, web=web, client=client)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- the tests ------------------------------------------------------------------------------

def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield (rule.rule, method), rule.endpoint


def test_every_route_is_classified(matrix):
    routes = dict(_routes(matrix.app))
    missing = [f"{method} {rule} (endpoint {endpoint}): add ({rule!r}, {method!r}) to "
               f"CLASSIFIED in tests/test_attack_idor.py, with probes aimed at another "
               f"unit's data, or Public/Own if it takes no id and shows nobody's data"
               for (rule, method), endpoint in sorted(routes.items())
               if (rule, method) not in CLASSIFIED]
    stale = [f"{method} {rule}: no longer a route; remove it from CLASSIFIED"
             for rule, method in sorted(CLASSIFIED) if (rule, method) not in routes]
    assert not missing and not stale, "\n".join(["Unclassified routes:", *missing,
                                                 *stale])


def _send(matrix, probe, who):
    surface_api = probe.path.startswith("/api/")
    if surface_api:
        client, headers = matrix.client, {**matrix.api[who], **probe.headers}
        return client.open(probe.path, method=probe.method, json=probe.json, data=probe.body,
                           headers=headers)
    client = matrix.web[who]
    if probe.method == "GET":
        return client.get(probe.path)
    form = {k: (v() if callable(v) else v) for k, v in (probe.form or {}).items()}
    multipart = any(isinstance(v, tuple) for v in form.values())
    return client.open(probe.path, method=probe.method, data={**form, "csrf_token": client.csrf},
                       content_type="multipart/form-data" if multipart else None)


def _refused(resp, api):
    if api:
        if resp.status_code not in (401, 403, 404):
            return False
        error = resp.get_json()["error"]
        assert error["code"] in ("unauthorized", "forbidden", "not_found"), error
        assert set(error) == {"code", "message", "fields"}
        return True
    if resp.status_code == 302:
        return "/login" in resp.headers["Location"]
    return resp.status_code in (403, 404)


PROBED = sorted(key for key, value in CLASSIFIED.items() if callable(value))


@pytest.mark.parametrize("route", PROBED, ids=[f"{m} {r}" for r, m in PROBED])
def test_no_attacker_reaches_the_target(matrix, route):
    api = route[0].startswith("/api/")
    attackers = API_ATTACKERS if api else WEB_ATTACKERS
    for probe in CLASSIFIED[route](matrix.d):
        markers = (probe.markers or (lambda d: [SECRET]))(matrix.d)
        for who in attackers:
            if who in probe.entitled:
                continue
            resp = _send(matrix, probe, who)
            where = f"{probe.method} {probe.path} as {who}: {resp.status_code}"
            assert resp.status_code < 500, where
            body = resp.get_data(as_text=True) if resp.mimetype and (
                resp.mimetype.startswith("text/") or "json" in resp.mimetype) else ""
            for marker in markers:
                assert marker not in body, f"{where} shows {marker!r}"
            if _refused(resp, api):
                continue
            assert probe.scoped or probe.check, f"{where} was not refused"
            if probe.check:
                probe.check(resp)
            else:
                assert resp.status_code in (200, 302, 409, 422), where


def test_the_target_is_unchanged_after_every_attack(matrix):
    assert "before" in _STATE
    with matrix.app.app_context():
        after = snapshot(TABLES)
    for table in TABLES:
        assert after[table] == _STATE["before"][table], f"{table} changed"
