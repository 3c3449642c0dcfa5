"""Tổ CNSCĐ: teams created, renamed and given hamlets; a member's scope follows at once."""
from sqlalchemy import select

from server.extensions import db
from server.models import Team
from tests import admin_helpers as ah
from tests.factories import login
from tests.sync_helpers import household, pull_all, push


def test_a_team_is_created_renamed_and_given_hamlets_and_its_member_follows(client, world,
                                                                            other_world):
    ah.admin(client, world)
    resp = ah.post(client, "/admin/teams", {"commune": str(world.commune.id),
                                           "name": "Tổ CNSCĐ liên ấp"})
    assert resp.status_code == 302
    team = db.session.scalar(select(Team).where(Team.commune_id == world.commune.id,
                                                Team.name == "Tổ CNSCĐ liên ấp"))
    ah.assert_audited("team.create", team.id, world.users["admin"], name="Tổ CNSCĐ liên ấp",
                      commune=world.commune.code)
    assert "Tổ CNSCĐ liên ấp" in ah.text(client.get(resp.headers["Location"]))
    clash = ah.post(client, "/admin/teams", {"commune": str(world.commune.id),
                                            "name": world.teams[0].name})
    assert clash.status_code == 422 and "Xã đã có tổ mang tên này" in ah.text(clash)

    resp = ah.post(client, f"/admin/teams/{team.id}/rename", {"name": "Tổ CNSCĐ ấp 1 và 2"})
    assert resp.status_code == 302
    ah.assert_audited("team.rename", team.id, world.users["admin"],
                      name=["Tổ CNSCĐ liên ấp", "Tổ CNSCĐ ấp 1 và 2"])

    # The team's page creates its members; the form lists only that commune's teams.
    form = ah.text(client.get(f"/admin/users/new?commune={world.commune.id}&team={team.id}"))
    assert f'<option selected value="{team.id}">' in form
    assert f">{other_world.commune.name} · " not in form  # team options: "<commune> · <team>"
    assert f">{world.commune.name} · {world.teams[0].name}<" in form

    # A member of the new team sees nothing until it has hamlets, then both hamlets' records.
    new_member = ah.post(client, "/admin/users/new", {
        "username": f"lien.ap.{world.commune.code}", "display_name": "Lê Văn Liên",
        "password": "mat-khau-lien-1", "role": "member", "team": str(team.id)})
    assert new_member.status_code == 302
    phone = login(client, f"lien.ap.{world.commune.code}", "mat-khau-lien-1")
    second = household(world.hamlets[1].id)
    push(client, login(client, world.users["member2"]), [second])
    changes, _, _ = pull_all(client, phone)
    assert not [c for c in changes if c["type"] in ("hamlet", "household")]

    ids = [str(h.id) for h in world.hamlets]
    resp = ah.post(client, f"/admin/teams/{team.id}/hamlets", {"hamlets": ids})
    assert resp.status_code == 302
    codes = sorted(h.code for h in world.hamlets)
    ah.assert_audited("team.hamlets", team.id, world.users["admin"], added=codes, removed=[])
    changes, _, _ = pull_all(client, phone)
    assert {c["id"] for c in changes if c["type"] == "hamlet"} == set(ids)
    assert second["id"] in {c["id"] for c in changes if c["type"] == "household"}

    # Another commune's hamlet is refused; nothing changes.
    foreign = ah.post(client, f"/admin/teams/{team.id}/hamlets",
                      {"hamlets": [ids[0], str(other_world.hamlets[0].id)]})
    assert foreign.status_code == 422 and "Chỉ chọn được ấp đang hoạt động" in ah.text(foreign)
    resp = ah.post(client, f"/admin/teams/{team.id}/hamlets", {"hamlets": [ids[0]]})
    assert resp.status_code == 302
    entries = ah.audit("team.hamlets", team.id)
    assert len(entries) == 2 and entries[-1].details == {"added": [], "removed": [codes[1]]}
    page = ah.text(client.get(f"/admin/teams/{team.id}"))
    assert "Lê Văn Liên" in page and "Tổ CNSCĐ ấp 1 và 2" in page
