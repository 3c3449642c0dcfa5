"""Số liệu nền: the commune office edits each hamlet's households and adults."""
import re

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Hamlet
from tests.factories import login
from tests.test_coverage_definitions import OCT, get, hamlet_row
from tests.test_web_office_auth import csrf, text
from tests.test_web_office_visits import browser


def _rows(world, values):
    """Form fields of the baselines form: ``values`` is ``[(households, adults)]`` per hamlet."""
    data = {}
    for i, (hamlet, (households, adults)) in enumerate(zip(world.hamlets, values)):
        data.update({f"rows-{i}-hamlet_id": str(hamlet.id),
                     f"rows-{i}-households_total": str(households),
                     f"rows-{i}-adults_total": str(adults)})
    return data


def _ids(world):
    return [str(h.id) for h in world.hamlets]


def _hamlet(hamlet_id):
    db.session.rollback()
    return db.session.get(Hamlet, hamlet_id)


def test_officer_edits_baselines_audit_logged_and_rates_follow(client, app, world):
    officer = browser(app, world, "commune_officer")
    page = text(officer.get("/office/baselines"))
    assert 'name="rows-0-households_total"' in page and world.hamlets[0].name in page
    seq_before = _hamlet(world.hamlets[0].id).change_seq
    resp = officer.post("/office/baselines", data={
        **_rows(world, [(120, 300), (100, 250)]), "csrf_token": csrf(officer, "/office/baselines")})
    assert resp.status_code == 302
    hamlet = _hamlet(world.hamlets[0].id)
    assert (hamlet.households_total, hamlet.adults_total) == (120, 300)
    assert hamlet.change_seq > seq_before  # phones pull the new figures
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "hamlet.baselines", AuditEntry.entity_id.in_(_ids(world)))))
    assert [e.entity_id for e in entries] == [str(world.hamlets[0].id)]  # only what changed
    assert entries[0].details == {"before": {"households_total": 100, "adults_total": 250},
                                  "after": {"households_total": 120, "adults_total": 300}}
    assert "Đã lưu số liệu nền (1 ấp thay đổi)" in text(officer.get("/office/baselines"))
    headers = login(client, world.users["commune_officer"])
    row = hamlet_row(get(client, headers, commune=world.commune.code, **OCT), world.hamlets[0].id)
    assert row["households_total"] == 120 and row["adults_total"] == 300


def test_negative_or_non_integer_baselines_are_refused(app, world):
    officer = browser(app, world, "commune_officer")
    for bad in ("-1", "12.5", "mười", ""):
        data = _rows(world, [(bad, 300), (100, 250)])
        resp = officer.post("/office/baselines",
                            data={**data, "csrf_token": csrf(officer, "/office/baselines")})
        assert resp.status_code == 422, bad
        assert "Not a valid" not in text(resp)
        assert re.search("Phải là số nguyên không âm|Bắt buộc nhập",
                         text(resp)), bad
    hamlet = _hamlet(world.hamlets[0].id)
    assert (hamlet.households_total, hamlet.adults_total) == (100, 250)
    assert not db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.action == "hamlet.baselines", AuditEntry.entity_id.in_(_ids(world))))


def test_team_lead_reads_but_cannot_edit(app, world):
    lead = browser(app, world, "team_lead")
    page = text(lead.get("/office/baselines"))
    assert world.hamlets[0].name in page and world.hamlets[1].name not in page
    assert 'name="rows-0-households_total"' not in page
    resp = lead.post("/office/baselines", data={**_rows(world, [(1, 1)]),
                                                "csrf_token": csrf(lead, "/office/baselines")})
    assert resp.status_code == 403
    assert _hamlet(world.hamlets[0].id).households_total == 100


def test_a_hamlet_of_another_commune_cannot_be_edited(app, world, other_world):
    stranger = browser(app, other_world, "commune_officer")
    resp = stranger.post("/office/baselines", data={
        **_rows(world, [(1, 1)]), "csrf_token": csrf(stranger, "/office/baselines")})
    assert resp.status_code == 404
    assert _hamlet(world.hamlets[0].id).households_total == 100


def test_baselines_without_the_csrf_token_are_refused(app, world):
    officer = browser(app, world, "commune_officer")
    resp = officer.post("/office/baselines", data=_rows(world, [(1, 1), (1, 1)]))
    assert resp.status_code == 400
    assert _hamlet(world.hamlets[0].id).households_total == 100
