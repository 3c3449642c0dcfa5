"""Chỉ tiêu and Chiến dịch: targets and campaigns listed, added and edited; a campaign's figures
follow its period (recomputed by a job), and the office's coverage reads the new target.

They use a province of their own: PostgreSQL's test database is shared by the whole session and
Đồng Nai's targets and campaigns must stay as the other tests expect them.
"""
from datetime import date

from sqlalchemy import select

from server.extensions import db
from server.models import Campaign, Commune, Province, Target
from tests import admin_helpers as ah
from tests.conftest import jobs_settled
from tests.factories import login, make_world
from tests.sync_helpers import household, push, visit
from tests.test_coverage_definitions import at


def _own_province():
    """Province "98" (made once per database), with ``world``-style communes."""
    province = db.session.scalar(select(Province).where(Province.code == "98"))
    if province is None:
        province = Province(code="98", name="Tỉnh Thử Nghiệm", settings={})
        db.session.add(province)
        db.session.commit()
    return province


def test_targets_are_added_and_edited_and_coverage_reads_them(client, app):
    # A world moved into province 98: its coverage reads province 98's targets.
    province = _own_province()
    world = make_world()
    db.session.execute(Commune.__table__.update().where(Commune.id == world.commune.id)
                       .values(province_id=province.id))
    db.session.commit()
    ah.admin(client, world)
    form = {"province_code": "98", "indicator": "adults_with_CKS", "value": "62.5",
            "due": "2027-12-31", "source": "KH 12/KH-UBND"}
    resp = ah.post(client, "/admin/targets", form)
    assert resp.status_code == 302, ah.text(resp)[:1500]
    target = db.session.scalar(select(Target).where(Target.province_code == "98",
                                                    Target.indicator == "adults_with_CKS",
                                                    Target.due == date(2027, 12, 31)))
    assert target.value == 0.625
    ah.assert_audited("target.create", target.id, world.users["admin"], value=0.625,
                      due="2027-12-31", source="KH 12/KH-UBND")
    listing = ah.text(client.get("/admin/targets"))
    assert "62,5%" in listing and "Tỷ lệ người từ 18 tuổi có: Chữ ký số cá nhân" in listing

    again = ah.post(client, "/admin/targets", form)
    assert again.status_code == 422 and "Tỉnh đã có chỉ tiêu này với cùng hạn" in ah.text(again)
    for value in ("0", "101", "abc"):
        bad = ah.post(client, "/admin/targets", {**form, "value": value, "due": "2028-12-31"})
        assert bad.status_code == 422, value

    edit = ah.text(client.get(f"/admin/targets/{target.id}"))
    assert 'value="62.5"' in edit
    resp = ah.post(client, f"/admin/targets/{target.id}", {**form, "value": "70"})
    assert resp.status_code == 302
    entry = ah.assert_audited("target.update", target.id, world.users["admin"])
    assert entry.details["before"]["value"] == 0.625 and entry.details["after"]["value"] == 0.7

    officer = login(client, world.users["commune_officer"])
    body = client.get("/api/v1/coverage", headers=officer, query_string={
        "commune": world.commune.code, "from": "2027-01-01", "to": "2027-06-30"}).get_json()
    assert body["commune"]["targets"]["adults_with_CKS"]["target"] == 0.7


def test_a_campaign_is_added_and_its_figures_follow_its_period(client, world):
    _own_province()
    ah.admin(client, world)
    member = login(client, world.users["member"])
    home = household(world.hamlets[0].id)
    push(client, member, [home, visit(home["id"], when=at(date(2025, 3, 10)))])
    jobs_settled()

    form = {"province_code": "98", "name": "Chiến dịch thử tháng 3", "date_from": "2025-03-01",
            "date_to": "2025-03-31", "services": ["CKS", "VNEID"], "target": "40"}
    resp = ah.post(client, "/admin/campaigns", form)
    assert resp.status_code == 302, ah.text(resp)[:1500]
    campaign = db.session.scalar(select(Campaign).where(Campaign.province_code == "98",
                                                        Campaign.name == form["name"]))
    assert campaign.services == ["CKS", "VNEID"] and campaign.target == 0.4
    ah.assert_audited("campaign.create", campaign.id, world.users["admin"],
                      date_from="2025-03-01", services=["CKS", "VNEID"])
    assert form["name"] in ah.text(client.get("/admin/campaigns"))

    officer = login(client, world.users["commune_officer"])

    def visits_in_campaign():
        jobs_settled()
        body = client.get("/api/v1/coverage", headers=officer, query_string={
            "commune": world.commune.code, "campaign": campaign.id}).get_json()
        return body["commune"]["visits"]

    assert visits_in_campaign() == 1
    resp = ah.post(client, f"/admin/campaigns/{campaign.id}", {**form, "date_from": "2025-04-01",
                                                               "date_to": "2025-04-30"})
    assert resp.status_code == 302
    entry = ah.assert_audited("campaign.update", campaign.id, world.users["admin"])
    assert entry.details["after"]["date_from"] == "2025-04-01"
    assert visits_in_campaign() == 0

    for bad, message in (({"date_to": "2025-02-01"}, "Ngày kết thúc phải từ ngày bắt đầu"),
                         ({"services": []}, "Chọn ít nhất một dịch vụ"),
                         ({"name": ""}, "Bắt buộc nhập")):
        resp = ah.post(client, "/admin/campaigns", {**form, **bad})
        assert resp.status_code == 422 and message in ah.text(resp), bad
