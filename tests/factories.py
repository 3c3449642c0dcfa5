"""Plain factory functions that build units, users and tokens through the models/services."""
import itertools
from dataclasses import dataclass, field

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from server.extensions import db
from server.models import Commune, Hamlet, Province, Team
from server.services import accounts
from server.services.changes import ChangeClock, commune_scope

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


@dataclass
class World:
    """One commune with its hamlets, teams (one per hamlet) and a user per role."""

    province: Province
    commune: Commune
    hamlets: list
    teams: list
    users: dict = field(default_factory=dict)  # role -> username

    @property
    def hamlet_ids(self):
        return [h.id for h in self.hamlets]


def _province():
    province = db.session.execute(select(Province).where(Province.code == "75")).scalar_one_or_none()
    if province is None:
        province = Province(code="75", name="Đồng Nai", settings={})
        db.session.add(province)
        db.session.flush()
    return province


def make_world(hamlets=2):
    """Create a commune with ``hamlets`` square hamlets side by side, teams and users."""
    n = next(_seq)
    province = _province()
    # Above every real commune code (the demo loads Đồng Nai's 95, up to 26xxx) and below the
    # province tests' own (90000+): no collision.
    code = f"{80000 + n % 9000:05d}"
    lon0, lat0 = 106.0 + n * 0.05, 10.5
    commune = Commune(province_id=province.id, code=code, name=f"Xã Thử {n}",
                      boundary=from_shape(MultiPolygon([box(lon0, lat0, lon0 + 0.01 * hamlets,
                                                            lat0 + 0.01)]), srid=4326))
    db.session.add(commune)
    db.session.flush()
    clock = ChangeClock(commune_scope(commune.id))
    made, teams = [], []
    for i in range(hamlets):
        square = box(lon0 + 0.01 * i, lat0, lon0 + 0.01 * (i + 1), lat0 + 0.01)
        hamlet = Hamlet(commune_id=commune.id, code=f"{code}-{i + 1:03d}", name=f"Ấp Thử {i + 1}",
                        kind="ap", boundary=from_shape(MultiPolygon([square]), srid=4326),
                        households_total=100, adults_total=250, change_seq=clock.next())
        db.session.add(hamlet)
        team = Team(commune_id=commune.id, name=f"Tổ CNSCĐ ấp {i + 1}")
        team.hamlets.append(hamlet)
        db.session.add(team)
        made.append(hamlet)
        teams.append(team)
    clock.save()
    db.session.commit()
    world = World(province=province, commune=commune, hamlets=made, teams=teams)
    for role, kwargs in {
        "member": {"team_id": teams[0].id},
        "member2": {"team_id": teams[-1].id},
        "team_lead": {"team_id": teams[0].id},
        "commune_officer": {"commune_code": code},
        "province_analyst": {"province_code": "75"},
        "admin": {},
    }.items():
        username = f"{role}.{code}"
        accounts.create_user(username, PASSWORD, role.rstrip("2"), **kwargs)
        world.users[role] = username
    return world


def login(client, username, password=PASSWORD, device_id="test-device"):
    """Sign in and return the Authorization header for the new token."""
    resp = client.post("/api/v1/auth/token",
                       json={"username": username, "password": password, "device_id": device_id})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}
