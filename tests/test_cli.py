"""Operations through ``flask --app wsgi …``: seed-demo, users create, apikeys create."""
import hashlib
from itertools import combinations

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from server.extensions import db
from server.models import ApiKey, Commune, Hamlet, Household, Resident, Team, User, team_hamlets
from tests.factories import login

DEMO_COMMUNE = "26425"
DEMO_PASSWORD = "demo-2025"
DEMO_ROLES = {"demo.member": "member", "demo.lead": "team_lead", "demo.officer": "commune_officer",
              "demo.province": "province_analyst", "demo.admin": "admin"}
NEW_PASSWORD = "pw-123456789"


def _seed(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result


def _demo_commune():
    return db.session.execute(select(Commune).where(Commune.code == DEMO_COMMUNE)).scalar_one()


def _demo_hamlets():
    return list(db.session.scalars(
        select(Hamlet).join(Commune).where(Commune.code == DEMO_COMMUNE).order_by(Hamlet.code)))


def _demo_counts():
    hamlet_ids = [h.id for h in _demo_hamlets()]
    count = lambda model: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(model).where(model.hamlet_id.in_(hamlet_ids)))
    teams = db.session.scalar(select(func.count()).select_from(Team)
                              .where(Team.commune_id == _demo_commune().id))
    users = db.session.scalar(select(func.count()).select_from(User)
                              .where(User.username.in_(DEMO_ROLES)))
    return {"hamlets": len(hamlet_ids), "households": count(Household),
            "residents": count(Resident), "teams": teams, "users": users}


@pytest.fixture
def seeded(runner):
    _seed(runner)


def test_seed_demo_is_idempotent(runner):
    first_output = _seed(runner).output
    first = _demo_counts()
    second_output = _seed(runner).output
    assert _demo_counts() == first
    assert first["hamlets"] == 31 and first["teams"] == 31 and first["users"] == 5
    assert first["households"] > 0 and first["residents"] >= first["households"]
    assert second_output == first_output


def test_seed_demo_hamlets_do_not_overlap(seeded):
    shapes = [to_shape(h.boundary) for h in _demo_hamlets()]
    commune_area = to_shape(_demo_commune().boundary).area
    for a, b in combinations(shapes, 2):
        assert a.intersection(b).area <= commune_area * 1e-9


def test_seed_demo_hamlets_do_not_overlap_in_the_database(seeded):
    other = Hamlet.__table__.alias("other")
    overlapping = db.session.scalar(
        select(func.count()).select_from(Hamlet).join(other, other.c.id > Hamlet.id)
        .join(Commune, Commune.id == Hamlet.commune_id)
        .where(Commune.code == DEMO_COMMUNE, other.c.commune_id == Hamlet.commune_id,
               func.ST_Area(func.ST_Intersection(Hamlet.boundary, other.c.boundary)) > 1e-10))
    assert overlapping == 0


def test_seed_demo_hamlets_cover_the_commune(seeded):
    hamlets = [to_shape(h.boundary) for h in _demo_hamlets()]
    commune = to_shape(_demo_commune().boundary)
    assert sum(h.area for h in hamlets) == pytest.approx(commune.area, rel=0.005)
    assert all(commune.buffer(1e-9).contains(h) for h in hamlets)


def test_seed_demo_hamlets_have_baselines(seeded):
    for hamlet in _demo_hamlets():
        assert hamlet.households_total > 0, hamlet.code
        assert hamlet.adults_total > 0, hamlet.code


def test_seed_demo_gives_each_hamlet_exactly_one_team(seeded):
    hamlet_ids = {h.id for h in _demo_hamlets()}
    rows = db.session.execute(
        select(team_hamlets.c.team_id, team_hamlets.c.hamlet_id)
        .where(team_hamlets.c.hamlet_id.in_(hamlet_ids))).all()
    assert sorted(hamlet for _, hamlet in rows) == sorted(hamlet_ids)
    assert len({team for team, _ in rows}) == len(hamlet_ids)


def test_seed_demo_households_lie_in_their_hamlet(seeded):
    hamlets = {h.id: to_shape(h.boundary) for h in _demo_hamlets()}
    households = db.session.scalars(select(Household).where(Household.hamlet_id.in_(hamlets)))
    for household in households:
        assert hamlets[household.hamlet_id].contains(to_shape(household.location))


def test_seed_demo_users_have_their_roles_and_units(seeded):
    users = {u.username: u for u in db.session.scalars(
        select(User).where(User.username.in_(DEMO_ROLES)))}
    assert {name: u.role for name, u in users.items()} == DEMO_ROLES
    commune = _demo_commune()
    for name in ("demo.member", "demo.lead"):
        assert users[name].team is not None and users[name].team.commune_id == commune.id
    assert users["demo.officer"].commune_id == commune.id
    assert users["demo.province"].province_id == commune.province_id


def test_demo_member_signs_in_and_sees_one_hamlet(seeded, client):
    headers = login(client, "demo.member", DEMO_PASSWORD)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["role"] == "member" and me["commune_code"] == DEMO_COMMUNE
    assert len(me["hamlet_ids"]) == 1
    assert me["hamlet_ids"][0] in {h.id for h in _demo_hamlets()}


def test_demo_officer_sees_every_demo_hamlet(seeded, client):
    headers = login(client, "demo.officer", DEMO_PASSWORD)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["hamlet_ids"] == sorted(h.id for h in _demo_hamlets())


# --- users create ---------------------------------------------------------------------------

def _create_user(runner, *args, password=NEW_PASSWORD):
    return runner.invoke(args=["users", "create", *args], input=f"{password}\n")


def _user(username):
    return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def test_users_create_reads_the_password_from_stdin(runner, client, world):
    username = f"new.member.{world.commune.code}"
    result = _create_user(runner, username, "--role", "member", "--team", str(world.teams[0].id))
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output

    headers = login(client, username, NEW_PASSWORD)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["role"] == "member"
    assert me["team_id"] == world.teams[0].id
    assert me["hamlet_ids"] == [world.hamlets[0].id]


def test_users_create_commune_officer_by_commune_code(runner, client, world):
    username = f"new.officer.{world.commune.code}"
    result = _create_user(runner, username, "--role", "commune_officer",
                          "--commune", world.commune.code)
    assert result.exit_code == 0, result.output
    me = client.get("/api/v1/me", headers=login(client, username, NEW_PASSWORD)).get_json()
    assert me["hamlet_ids"] == sorted(world.hamlet_ids)


@pytest.mark.parametrize("args, field, message", [
    (["--role", "chief"], "role", "must be one of"),
    (["--role", "member"], "team", "required"),
    (["--role", "member", "--team", "987654321"], "team", "unknown team"),
    (["--role", "commune_officer", "--commune", "00000"], "commune", "unknown commune"),
    (["--role", "province_analyst", "--province", "00"], "province", "unknown province"),
], ids=["bad-role", "member-without-team", "unknown-team", "unknown-commune", "unknown-province"])
def test_users_create_refuses_inconsistent_input(runner, world, args, field, message):
    username = f"refused.{field}.{world.commune.code}"
    result = _create_user(runner, username, *args)
    assert result.exit_code != 0
    assert field in result.output and message in result.output
    assert _user(username) is None


def test_users_create_refuses_a_short_password(runner, world):
    username = f"short.pw.{world.commune.code}"
    result = _create_user(runner, username, "--role", "member", "--team", str(world.teams[0].id),
                          password="short")
    assert result.exit_code != 0
    assert "password" in result.output
    assert _user(username) is None


def test_users_create_refuses_a_username_longer_than_the_column(runner, world):
    username = f"too.long.{world.commune.code}." + "x" * 80
    result = _create_user(runner, username, "--role", "admin")
    db.session.rollback()
    assert result.exit_code != 0
    assert "username" in result.output
    assert _user(username) is None


def test_users_create_refuses_a_duplicate_username(runner, client, world):
    existing = world.users["member"]
    result = _create_user(runner, existing, "--role", "admin")
    assert result.exit_code != 0
    assert "already taken" in result.output
    db.session.expire_all()
    assert _user(existing).role == "member"
    login(client, existing)  # the original password still works


# --- apikeys create -------------------------------------------------------------------------

def test_apikeys_create_prints_a_key_and_stores_only_its_hash(runner, world):
    result = runner.invoke(args=["apikeys", "create", "--province", "75", "--label", "test"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key and "\n" not in key and len(key) >= 32

    row = db.session.execute(select(ApiKey).where(
        ApiKey.key_hash == hashlib.sha256(key.encode()).hexdigest())).scalar_one()
    assert row.province_id == world.province.id
    stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert not any(key in value for value in stored)


def test_apikeys_create_makes_a_new_key_each_time(runner, world):
    keys = [runner.invoke(args=["apikeys", "create", "--province", "75"]).output.strip()
            for _ in range(2)]
    assert keys[0] != keys[1]


def test_apikeys_create_for_an_unknown_province_fails(runner):
    result = runner.invoke(args=["apikeys", "create", "--province", "00"])
    assert result.exit_code != 0
    assert "unknown province" in result.output
