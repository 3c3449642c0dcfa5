"""IDOR matrix: every route of the app × every role and scope that must not reach the target.

The routes come from the app's ``url_map``: a route (path and method) that is not classified in
``CLASSIFIED`` below fails ``test_every_route_is_classified`` with the exact entry to add, so a
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
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Callable, Optional

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey, Campaign, Photo, Province, ReportTask, User
from server.models.imports import RegistryImportTask
from server.services import accounts
from server.services.registry_template import csv_template
from tests.attack_helpers import anonymous, bearer, browser, module_app, snapshot
from tests.conftest import wait_for
from tests.factories import PASSWORD, make_world
from tests.photo_helpers import jpeg_bytes, put_photo
from tests.sync_helpers import household, push, resident, soon
from tests.sync_helpers import visit as visit_item
from tests.test_coverage_definitions import cks

SECRET = "SECRETALPHA"  # in every free text of the target: shown to nobody outside its scope
CAMPAIGN = "Chiến dịch SECRETCAMPAIGN"  # province 75's: nobody of another province sees it
COMMUNE = "Xã SECRETCOMMUNE"  # commune A's name: only province 75's readers see it
TABLES = ("households", "residents", "visits", "visit_services", "followups", "photos",
          "hamlets", "teams", "communes", "provinces", "users", "api_keys", "services",
          "targets", "campaigns", "month_approvals", "registry_import_tasks")
PERIOD = "from=2025-10-01&to=2025-10-31"

API_ATTACKERS = ("member_other_team", "lead_other_team", "member_other_commune",
                 "officer_other_commune", "analyst_same_province", "analyst_other_province",
                 "admin", "key_same_province", "key_other_province", "anonymous")
WEB_ATTACKERS = ("lead_other_team", "officer_other_commune", "lead_other_commune",
                 "analyst_same_province", "analyst_other_province", "admin", "anonymous")
PROVINCE_75 = ("member_other_team", "lead_other_team", "member_other_commune",
               "officer_other_commune", "analyst_same_province", "admin", "key_same_province",
               "lead_other_commune")


# --- the matrix ---------------------------------------------------------------------------------

@dataclass
class Probe:
    """One request aimed at the target."""

    path: str
    method: str = "GET"
    json: object = None
    form: Optional[dict] = None  # pages: posted with the attacker's own valid CSRF token
    body: Optional[bytes] = None
    headers: dict = field(default_factory=dict)
    scoped: bool = False  # lists the caller's own units: may answer, showing none of the target
    entitled: tuple = ()  # attackers whose role may see this by design: not sent
    markers: Optional[Callable] = None  # what must not show (default: the target's texts)
    check: Optional[Callable] = None  # extra check of an answer that is not a refusal


@dataclass
class Public:
    """Holds nothing of anyone (files, rules, sign-in pages, probes)."""

    why: str


@dataclass
class Own:
    """Answers about the caller only (their token, their session); takes no id."""

    why: str


def _push_all_rejected(resp):
    results = resp.get_json()["results"]
    assert results and all(r["status"] == "rejected" for r in results), results
    assert all(r["server"] is None for r in results)  # never the stored copy (no conflict)


def _push(d):
    """Items aimed at the target: an edit, a resident and a visit of its household, a new
    household in its hamlet, and a retry of its visit's id with other content."""
    return [Probe("/api/v1/sync/push", "POST", json={"device_id": "attack", "items": [
        household(d.hamlet1, d.household, base_version=1, head_name="Đổi tên"),
        resident(d.household),
        visit_item(d.household),
        household(d.hamlet1),
        visit_item(d.household, d.visit, notes="ghi đè"),
    ]}, check=_push_all_rejected)]


def _photo(d, suffix=""):
    return f"/api/v1/visits/{d.visit}/photos/{d.photo}{suffix}"


def _hamlet_code_markers(d):
    return [SECRET, d.hamlet1_code]


def _admin_only(paths):
    """Admin pages: everyone but the admin is refused (the admin is entitled)."""
    def probes(d):
        return [Probe(p(d) if callable(p) else p, entitled=("admin",)) for p in paths]
    return probes


def _admin_post(path, form=None):
    def probes(d):
        return [Probe(path(d) if callable(path) else path, "POST", form=form or {},
                      entitled=("admin",))]
    return probes


def _province_page(path):
    def probes(d):
        return [Probe(f"{path}?province=75&{PERIOD.replace('from', 'first').replace('to', 'last')}"
                      + ("&format=csv" if path.endswith("download") else ""),
                      entitled=("analyst_same_province", "admin"),
                      markers=lambda d: [COMMUNE]),
                Probe(path + ("?format=csv" if path.endswith("download") else ""), scoped=True,
                      entitled=("analyst_same_province", "admin"),
                      markers=lambda d: [COMMUNE])]
    return probes


CLASSIFIED = {
    # Files and probes: nothing of anyone.
    ("/", "GET"): Public("the PWA shell"),
    ("/sw.js", "GET"): Public("the service worker"),
    ("/<any('manifest.webmanifest', 'app.css'):name>", "GET"): Public("PWA files"),
    ("/<any(app, vendor, icons):folder>/<path:filename>", "GET"): Public("PWA files"),
    ("/static/<path:filename>", "GET"): Public("static files"),
    ("/office/static/<path:filename>", "GET"): Public("console files"),
    ("/province/static/<path:filename>", "GET"): Public("province page files"),
    ("/healthz", "GET"): Public("liveness probe"),
    ("/readyz", "GET"): Public("readiness probe"),
    ("/api/v1/rules", "GET"): Public("validation rules"),
    ("/api/v1/openapi.json", "GET"): Public("the contract"),
    # Sign-in and out: about the caller only.
    ("/api/v1/auth/token", "POST"): Own("issues a token to whoever knows the password"),
    ("/api/v1/auth/token", "DELETE"): Own("revokes the token it is sent with"),
    ("/api/v1/me", "GET"): Own("the caller's own account"),
    ("/office/login", "GET"): Public("sign-in form"),
    ("/office/login", "POST"): Own("sign-in"),
    ("/office/logout", "POST"): Own("ends the caller's session"),
    ("/province/login", "GET"): Public("sign-in form"),
    ("/province/login", "POST"): Own("sign-in"),
    ("/province/logout", "POST"): Own("ends the caller's session"),
    ("/admin/login", "GET"): Public("sign-in form"),
    ("/admin/login", "POST"): Own("sign-in"),
    ("/admin/logout", "POST"): Own("ends the caller's session"),
    ("/office/guide", "GET"): Public("the guide: no data"),
    ("/office/imports/mau-so-ho.<any(csv, xlsx):fmt>", "GET"): Public("an empty template"),

    # --- API: personal data --------------------------------------------------------------------
    ("/api/v1/sync/push", "POST"): _push,
    ("/api/v1/sync/pull", "GET"): lambda d: [
        Probe("/api/v1/sync/pull", scoped=True, markers=_hamlet_code_markers)],
    ("/api/v1/visits", "GET"): lambda d: [Probe(f"/api/v1/visits?household_id={d.household}")],
    ("/api/v1/visits/<visit_id>/photos/<photo_id>", "GET"): lambda d: [Probe(_photo(d))],
    ("/api/v1/visits/<visit_id>/photos/<photo_id>/thumb", "GET"): lambda d: [
        Probe(_photo(d, "/thumb"))],
    ("/api/v1/visits/<visit_id>/photos/<photo_id>", "PUT"): lambda d: [
        Probe(_photo(d), "PUT", body=d.jpeg,
              headers={"Content-Type": "image/jpeg", "X-Consent": "yes"}),
        Probe(f"/api/v1/visits/{d.visit}/photos/{uuid.uuid4()}", "PUT", body=d.jpeg,
              headers={"Content-Type": "image/jpeg", "X-Consent": "yes"})],

    # --- API: figures --------------------------------------------------------------------------
    ("/api/v1/coverage", "GET"): lambda d: [
        Probe(f"/api/v1/coverage?commune={d.commune_code}&{PERIOD}", scoped=True,
              entitled=("analyst_same_province", "admin"), markers=_hamlet_code_markers)],
    ("/api/v1/coverage/daily", "GET"): lambda d: [
        Probe(f"/api/v1/coverage/daily?commune={d.commune_code}&{PERIOD}&service=CKS",
              scoped=True, entitled=("analyst_same_province", "admin"),
              markers=lambda d: [f'"{d.hamlet1}"'])],
    ("/api/v1/campaigns", "GET"): lambda d: [
        Probe("/api/v1/campaigns", scoped=True, entitled=PROVINCE_75,
              markers=lambda d: [CAMPAIGN])],
    ("/api/v1/province/aggregates", "GET"): lambda d: [
        Probe(f"/api/v1/province/aggregates?province=75&{PERIOD}",
              entitled=("key_same_province",), markers=lambda d: [COMMUNE]),
        Probe(f"/api/v1/province/aggregates?level=hamlet&{PERIOD}", scoped=True,
              entitled=("key_same_province",), markers=lambda d: [COMMUNE])],

    # --- the office console --------------------------------------------------------------------
    ("/office/", "GET"): lambda d: [Probe("/office/", scoped=True, markers=_hamlet_code_markers)],
    ("/office/overview", "GET"): lambda d: [
        Probe("/office/overview?first=2025-10-01&last=2025-12-31", scoped=True,
              markers=_hamlet_code_markers)],
    ("/office/overview/hamlets.geojson", "GET"): lambda d: [
        Probe("/office/overview/hamlets.geojson", scoped=True, markers=_hamlet_code_markers)],
    ("/office/visits", "GET"): lambda d: [
        Probe(f"/office/visits?hamlet={d.hamlet1}", scoped=True),
        Probe(f"/office/visits?team={d.team1}", scoped=True),
        Probe(f"/office/visits?member={d.member_id}", scoped=True),
        Probe("/office/visits", scoped=True)],
    ("/office/visits/<visit_id>", "GET"): lambda d: [Probe(f"/office/visits/{d.visit}")],
    ("/office/visits/<visit_id>/photos/<photo_id>", "GET"): lambda d: [
        Probe(f"/office/visits/{d.visit}/photos/{d.photo}")],
    ("/office/visits/<visit_id>/photos/<photo_id>/thumb", "GET"): lambda d: [
        Probe(f"/office/visits/{d.visit}/photos/{d.photo}/thumb")],
    ("/office/visits/<visit_id>/review", "POST"): lambda d: [
        Probe(f"/office/visits/{d.visit}/review", "POST",
              form={"state": "approved", "comment": "ok", "expected_state": "has_issues"})],
    ("/office/flags", "GET"): lambda d: [
        Probe("/office/flags?first=2025-01-01&last=2026-12-31", scoped=True)],
    ("/office/duplicates", "GET"): lambda d: [Probe("/office/duplicates", scoped=True)],
    ("/office/merge", "GET"): lambda d: [
        Probe(f"/office/merge?survivor={d.household}&other={d.twin}")],
    ("/office/merge", "POST"): lambda d: [
        Probe("/office/merge", "POST", form={"survivor": d.household, "other": d.twin})],
    ("/office/baselines", "GET"): lambda d: [
        Probe("/office/baselines", scoped=True, markers=_hamlet_code_markers)],
    ("/office/baselines", "POST"): lambda d: [
        Probe("/office/baselines", "POST", scoped=True, form={
            "rows-0-hamlet_id": str(d.hamlet1), "rows-0-households_total": "999",
            "rows-0-adults_total": "999"})],
    ("/office/approvals", "GET"): lambda d: [Probe("/office/approvals", scoped=True)],
    ("/office/approvals/<month>", "GET"): lambda d: [
        Probe("/office/approvals/2025-10", scoped=True, markers=_hamlet_code_markers)],
    ("/office/approvals/<month>", "POST"): lambda d: [
        Probe("/office/approvals/2025-10", "POST", scoped=True, form={"seen": "0" * 64})],
    ("/office/reports", "GET"): lambda d: [Probe("/office/reports", scoped=True)],
    ("/office/reports", "POST"): lambda d: [
        Probe("/office/reports", "POST", scoped=True,
              form={"first": "2025-10-01", "last": "2025-10-31"})],
    ("/office/reports/<task_id>/status", "GET"): lambda d: [
        Probe(f"/office/reports/{d.report_task}/status")],
    ("/office/reports/<task_id>/download", "GET"): lambda d: [
        Probe(f"/office/reports/{d.report_task}/download")],
    ("/office/reports/print", "GET"): lambda d: [
        Probe("/office/reports/print?first=2025-10-01&last=2025-10-31", scoped=True,
              markers=_hamlet_code_markers)],
    ("/office/imports", "GET"): lambda d: [
        Probe("/office/imports", scoped=True, entitled=("admin",),
              markers=_hamlet_code_markers)],
    ("/office/imports", "POST"): lambda d: [
        Probe("/office/imports", "POST", entitled=("admin",), scoped=True, form={
            "hamlet": str(d.hamlet1),
            "file": lambda: (io.BytesIO(csv_template()), "so-ho.csv")})],
    ("/office/imports/<task_id>/status", "GET"): lambda d: [
        Probe(f"/office/imports/{d.import_task}/status", entitled=("admin",))],
    ("/office/imports/<task_id>/report", "GET"): lambda d: [
        Probe(f"/office/imports/{d.import_task}/report", entitled=("admin",))],

    # --- the province page -----------------------------------------------------------------------
    ("/province/", "GET"): _province_page("/province/"),
    ("/province/communes.geojson", "GET"): _province_page("/province/communes.geojson"),
    ("/province/download", "GET"): _province_page("/province/download"),

    # --- the admin console: the admin's only ------------------------------------------------------
    ("/admin/", "GET"): _admin_only(["/admin/"]),
    ("/admin/units", "GET"): _admin_only(["/admin/units"]),
    ("/admin/communes/<int:commune_id>", "GET"): _admin_only(
        [lambda d: f"/admin/communes/{d.commune_id}"]),
    ("/admin/communes/<int:commune_id>/hamlets", "POST"): _admin_post(
        lambda d: f"/admin/communes/{d.commune_id}/hamlets",
        {"code": "x", "name": "Ấp lạ", "kind": "ap"}),
    ("/admin/communes/<int:commune_id>/close", "POST"): _admin_post(
        lambda d: f"/admin/communes/{d.commune_id}/close"),
    ("/admin/provinces/<int:province_id>/communes", "POST"): _admin_post(
        lambda d: f"/admin/provinces/{d.province_id}/communes",
        {"code": "x", "name": "Xã lạ", "kind": "xa"}),
    ("/admin/hamlets/<int:hamlet_id>", "GET"): _admin_only(
        [lambda d: f"/admin/hamlets/{d.hamlet1}"]),
    ("/admin/hamlets/<int:hamlet_id>", "POST"): _admin_post(
        lambda d: f"/admin/hamlets/{d.hamlet1}", {"name": "Đổi tên"}),
    ("/admin/hamlets/<int:hamlet_id>/close", "POST"): _admin_post(
        lambda d: f"/admin/hamlets/{d.hamlet1}/close"),
    ("/admin/hamlets/<int:hamlet_id>/boundary", "POST"): _admin_post(
        lambda d: f"/admin/hamlets/{d.hamlet1}/boundary"),
    ("/admin/hamlets/<int:hamlet_id>/boundary/clear", "POST"): _admin_post(
        lambda d: f"/admin/hamlets/{d.hamlet1}/boundary/clear"),
    ("/admin/teams", "GET"): _admin_only(["/admin/teams"]),
    ("/admin/teams", "POST"): _admin_post("/admin/teams", {"name": "Tổ lạ"}),
    ("/admin/teams/<int:team_id>", "GET"): _admin_only([lambda d: f"/admin/teams/{d.team1}"]),
    ("/admin/teams/<int:team_id>/rename", "POST"): _admin_post(
        lambda d: f"/admin/teams/{d.team1}/rename", {"name": "Đổi tên"}),
    ("/admin/teams/<int:team_id>/hamlets", "POST"): _admin_post(
        lambda d: f"/admin/teams/{d.team1}/hamlets", {"hamlets": ""}),
    ("/admin/users", "GET"): _admin_only(["/admin/users"]),
    ("/admin/users/new", "GET"): _admin_only(["/admin/users/new"]),
    ("/admin/users/new", "POST"): _admin_post("/admin/users/new", {
        "username": "intruder", "role": "admin", "password": "long-password-1"}),
    ("/admin/users/<int:user_id>", "GET"): _admin_only([lambda d: f"/admin/users/{d.member_id}"]),
    ("/admin/users/<int:user_id>/password", "POST"): _admin_post(
        lambda d: f"/admin/users/{d.member_id}/password", {"password": "taken-over-123"}),
    ("/admin/users/<int:user_id>/deactivate", "POST"): _admin_post(
        lambda d: f"/admin/users/{d.member_id}/deactivate"),
    ("/admin/users/<int:user_id>/reactivate", "POST"): _admin_post(
        lambda d: f"/admin/users/{d.member_id}/reactivate"),
    ("/admin/services", "GET"): _admin_only(["/admin/services"]),
    ("/admin/services/new", "GET"): _admin_only(["/admin/services/new"]),
    ("/admin/services/new", "POST"): _admin_post("/admin/services/new", {"code": "XX"}),
    ("/admin/services/<code>", "GET"): _admin_only(["/admin/services/CKS"]),
    ("/admin/services/<code>", "POST"): _admin_post("/admin/services/CKS", {"label": "x"}),
    ("/admin/services/<code>/retire", "POST"): _admin_post("/admin/services/CKS/retire"),
    ("/admin/services/<code>/restore", "POST"): _admin_post("/admin/services/CKS/restore"),
    ("/admin/targets", "GET"): _admin_only(["/admin/targets"]),
    ("/admin/targets", "POST"): _admin_post("/admin/targets", {"target": "0.9"}),
    ("/admin/targets/<int:target_id>", "GET"): _admin_only(["/admin/targets/1"]),
    ("/admin/targets/<int:target_id>", "POST"): _admin_post("/admin/targets/1", {"target": "0"}),
    ("/admin/campaigns", "GET"): _admin_only(["/admin/campaigns"]),
    ("/admin/campaigns", "POST"): _admin_post("/admin/campaigns", {"name": "x"}),
    ("/admin/campaigns/<int:campaign_id>", "GET"): _admin_only(
        [lambda d: f"/admin/campaigns/{d.campaign}"]),
    ("/admin/campaigns/<int:campaign_id>", "POST"): _admin_post(
        lambda d: f"/admin/campaigns/{d.campaign}", {"name": "x"}),
    ("/admin/keys", "GET"): _admin_only(["/admin/keys"]),
    ("/admin/keys", "POST"): _admin_post("/admin/keys", {"province": "75", "label": "x"}),
    ("/admin/keys/<int:key_id>/revoke", "POST"): _admin_post(
        lambda d: f"/admin/keys/{d.key75_id}/revoke"),
}


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
