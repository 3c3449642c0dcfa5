"""GET /api/v1/coverage, /coverage/daily and /campaigns: scope per role, errors, targets."""
from datetime import date

import pytest

from tests.factories import login
from tests.sync_helpers import household, resident, visit
from tests.test_coverage_definitions import OCT, at, cks, hamlet_row, pushed


@pytest.fixture
def history(client, world):
    """One adult with CKS done in each hamlet in October 2025."""
    headers = login(client, world.users["commune_officer"])
    items = []
    for hamlet in world.hamlets:
        h = household(hamlet.id)
        r = resident(h["id"], birth_year=1980)
        items += [h, r, visit(h["id"], when=at(date(2025, 10, 10)), services=[cks(r["id"], "done")])]
    pushed(client, headers, items)
    return items


def _get(client, world, role, path="/api/v1/coverage", **query):
    headers = login(client, world.users[role])
    query = {"commune": world.commune.code, **OCT, **query}
    return client.get(path, query_string=query, headers=headers)


@pytest.mark.parametrize("role,hamlets", [
    ("commune_officer", 2), ("team_lead", 1), ("member", 1), ("province_analyst", 2), ("admin", 2)])
def test_each_role_reads_its_own_hamlets(client, world, history, role, hamlets):
    resp = _get(client, world, role)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert len(body["hamlets"]) == hamlets
    if hamlets == 1:
        assert body["hamlets"][0]["hamlet_id"] == world.hamlets[0].id
    assert body["commune"]["services"]["CKS"]["supported"] == hamlets  # sums of the rows shown
    assert body["period"] == {"from": "2025-10-01", "to": "2025-10-31"}


def test_another_communes_users_get_403(client, world, other_world, history):
    for role in ("commune_officer", "team_lead", "member"):
        headers = login(client, other_world.users[role])
        resp = client.get("/api/v1/coverage", headers=headers,
                          query_string={"commune": world.commune.code, **OCT})
        assert resp.status_code == 403, role
        assert resp.get_json()["error"]["code"] == "forbidden"


def test_anonymous_is_401_and_unknown_commune_404(client, world):
    assert client.get("/api/v1/coverage", query_string={"commune": world.commune.code,
                                                        **OCT}).status_code == 401
    resp = _get(client, world, "admin", commune="99999")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [
    {"from": "2025-10-32"}, {"from": "yesterday"}, {"from": "2025-11-01", "to": "2025-10-01"},
    {"from": "2024-01-01", "to": "2025-01-01"}, {"commune": "12"},
    {"campaign": "0"}, {"campaign": "x"}])
def test_bad_queries_are_422_in_the_error_shape(client, world, query):
    resp = _get(client, world, "commune_officer", **query)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error" and error["fields"]


def test_missing_dates_without_a_campaign_are_422(client, world):
    headers = login(client, world.users["commune_officer"])
    resp = client.get("/api/v1/coverage", headers=headers,
                      query_string={"commune": world.commune.code})
    assert resp.status_code == 422 and "from" in resp.get_json()["error"]["fields"]


def test_a_range_of_366_days_is_allowed(client, world):
    assert _get(client, world, "commune_officer", **{"from": "2024-01-01",
                                                     "to": "2024-12-31"}).status_code == 200


def test_rates_and_gaps_to_the_applicable_target(client, world, history):
    body = _get(client, world, "commune_officer").get_json()
    row = hamlet_row(body, world.hamlets[0].id)
    assert row["rates"]["adults_with_CKS"] == 0.004  # 1 of 250 adults
    assert row["targets"]["adults_with_CKS"] == {"target": 0.5, "due": "2025-12-31",
                                                 "gap": 0.496}
    later = _get(client, world, "commune_officer", **{"from": "2026-01-01",
                                                      "to": "2026-01-31"}).get_json()
    assert hamlet_row(later, world.hamlets[0].id)["targets"]["adults_with_CKS"]["target"] == 0.7
    assert body["commune"]["targets"]["adults_with_CKS"]["gap"] == 0.496


def test_the_seeded_campaign_gives_its_period_and_target(client, world, history):
    headers = login(client, world.users["commune_officer"])
    campaigns = client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"]
    campaign = next(c for c in campaigns if c["name"] == "Chiến dịch 30 ngày chữ ký số")
    assert (campaign["from"], campaign["to"], campaign["services"], campaign["target"]) == (
        "2025-10-01", "2025-11-01", ["CKS"], 0.5)
    resp = client.get("/api/v1/coverage", headers=headers, query_string={
        "commune": world.commune.code, "campaign": campaign["id"]})
    body = resp.get_json()
    assert body["period"] == {"from": "2025-10-01", "to": "2025-11-01"}
    assert body["campaign"]["id"] == campaign["id"]
    assert body["commune"]["services"]["CKS"] == {"supported": 2, "already_had": 0, "has": 2}
    assert _get(client, world, "commune_officer", campaign=999999).status_code == 404


def test_daily_is_cumulative(client, world, history):
    headers = login(client, world.users["commune_officer"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"], birth_year=1985)
    pushed(client, headers, [h, r, visit(h["id"], when=at(date(2025, 10, 12)),
                                         services=[cks(r["id"], "done")]),
                             visit(h["id"], when=at(date(2025, 10, 14)),
                                   services=[cks(r["id"], "declined")])])
    resp = _get(client, world, "commune_officer", "/api/v1/coverage/daily", service="CKS",
                **{"from": "2025-10-09", "to": "2025-10-15"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["service"] == "CKS" and body["target"]["target"] == 0.5
    series = [(d["date"], d["commune"]["supported"], d["commune"]["has"]) for d in body["days"]]
    assert series == [("2025-10-09", 0, 0), ("2025-10-10", 2, 2), ("2025-10-11", 2, 2),
                      ("2025-10-12", 3, 3), ("2025-10-13", 3, 3), ("2025-10-14", 3, 2),
                      ("2025-10-15", 3, 2)]
    first = str(world.hamlets[0].id)
    assert body["days"][-1]["hamlets"][first] == {"has": 1, "supported": 2}


def test_daily_scope_and_unknown_service(client, world, other_world):
    headers = login(client, other_world.users["commune_officer"])
    resp = client.get("/api/v1/coverage/daily", headers=headers, query_string={
        "commune": world.commune.code, "service": "CKS", **OCT})
    assert resp.status_code == 403
    resp = _get(client, world, "commune_officer", "/api/v1/coverage/daily", service="NOPE")
    assert resp.status_code == 422 and "service" in resp.get_json()["error"]["fields"]


def test_both_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/coverage", "/api/v1/coverage/daily", "/api/v1/campaigns"} <= set(paths)
