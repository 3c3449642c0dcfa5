"""The IDOR matrix's classification of every route (tests/test_attack_idor.py): ``Public``,
``Own``, or the probes aimed at commune A's hamlet-1 data and who may be refused or entitled."""
import io
import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional

from server.services.registry_template import csv_template
from tests.sync_helpers import household, resident
from tests.sync_helpers import visit as visit_item

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


def _admin_actions(rule, target, actions):
    """Bare admin POSTs under one row's page (``rule`` + ``/<action>``, no form), aimed at the
    target's row named by the attribute ``target``: ``{(route, "POST"): probes}``."""
    page = rule[:rule.index("<")]
    return {(f"{rule}/{action}", "POST"): _admin_post(
        lambda d, action=action: f"{page}{getattr(d, target)}/{action}") for action in actions}


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
    **_admin_actions("/admin/hamlets/<int:hamlet_id>", "hamlet1",
                     ("close", "boundary", "boundary/clear")),
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
    **_admin_actions("/admin/users/<int:user_id>", "member_id", ("deactivate", "reactivate")),
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
