"""Who sees which hamlets: every caller is bound to their own units, never a neighbour's."""
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from server.extensions import db
from server.models import Hamlet, User
from tests.factories import login

ROLES = ("member", "member2", "team_lead", "commune_officer", "province_analyst", "admin")


def _me(client, username):
    resp = client.get("/api/v1/me", headers=login(client, username))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _add_hamlet(world, team=None):
    """One more hamlet in ``world``'s commune, optionally worked by ``team``."""
    n = len(world.hamlets) + 1
    x0 = 100.0 + world.commune.id * 0.1 + n * 0.01
    hamlet = Hamlet(commune_id=world.commune.id, code=f"{world.commune.code}-{n:03d}",
                    name=f"Ấp Thêm {n}", kind="ap",
                    boundary=from_shape(MultiPolygon([box(x0, 10.0, x0 + 0.01, 10.01)]), srid=4326),
                    households_total=10, adults_total=20)
    db.session.add(hamlet)
    if team is not None:
        team.hamlets.append(hamlet)
    db.session.commit()
    world.hamlets.append(hamlet)
    return hamlet


@pytest.mark.parametrize("role", ROLES)
def test_me_is_open_to_every_role(client, world, role):
    me = _me(client, world.users[role])
    assert me["username"] == world.users[role]
    assert me["role"] == role.rstrip("2")


def test_member_sees_only_their_teams_hamlet(client, world, other_world):
    me = _me(client, world.users["member"])
    assert me["hamlet_ids"] == [world.hamlets[0].id]
    assert not set(me["hamlet_ids"]) & set(other_world.hamlet_ids)


def test_member_of_another_team_in_the_same_commune_sees_only_theirs(client, world):
    me = _me(client, world.users["member2"])
    assert me["hamlet_ids"] == [world.hamlets[-1].id]
    assert world.hamlets[0].id not in me["hamlet_ids"]


def test_team_lead_sees_every_hamlet_of_their_team_and_no_other(client, world):
    extra = _add_hamlet(world, team=world.teams[0])
    me = _me(client, world.users["team_lead"])
    assert me["hamlet_ids"] == sorted([world.hamlets[0].id, extra.id])
    assert world.hamlets[1].id not in me["hamlet_ids"]


def test_commune_officer_sees_every_hamlet_of_their_commune(client, world, other_world):
    unteamed = _add_hamlet(world)
    me = _me(client, world.users["commune_officer"])
    assert me["commune_code"] == world.commune.code
    assert me["hamlet_ids"] == sorted(world.hamlet_ids)
    assert unteamed.id in me["hamlet_ids"]
    assert not set(me["hamlet_ids"]) & set(other_world.hamlet_ids)


def test_other_communes_officer_sees_none_of_ours(client, world, other_world):
    me = _me(client, other_world.users["commune_officer"])
    assert me["hamlet_ids"] == sorted(other_world.hamlet_ids)
    assert not set(me["hamlet_ids"]) & set(world.hamlet_ids)


def test_province_analyst_is_given_no_hamlets(client, world):
    me = _me(client, world.users["province_analyst"])
    assert me["province_code"] == "75"
    assert me["commune_code"] is None
    assert me["hamlet_ids"] == []


def test_scope_follows_a_team_change_without_a_new_token(client, world):
    headers = login(client, world.users["member"])
    user = db.session.execute(
        select(User).where(User.username == world.users["member"])).scalar_one()
    user.team_id = world.teams[-1].id
    db.session.commit()

    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["team_id"] == world.teams[-1].id
    assert me["hamlet_ids"] == [world.hamlets[-1].id]


def test_scope_includes_a_hamlet_added_after_sign_in(client, world):
    headers = login(client, world.users["commune_officer"])
    added = _add_hamlet(world)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert added.id in me["hamlet_ids"]


def test_each_token_answers_for_its_own_user(client, world, other_world):
    ours = login(client, world.users["member"])
    theirs = login(client, other_world.users["member"])
    assert client.get("/api/v1/me", headers=theirs).get_json()["hamlet_ids"] == \
        [other_world.hamlets[0].id]
    assert client.get("/api/v1/me", headers=ours).get_json()["hamlet_ids"] == \
        [world.hamlets[0].id]
