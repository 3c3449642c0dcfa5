"""The demo data set: Xuân Lộc (Đồng Nai) with synthetic hamlets, teams, households and users."""
import random
import uuid
from pathlib import Path

from geoalchemy2.shape import from_shape, to_shape
from shapely import MultiPoint, Point, voronoi_polygons
from shapely.geometry import MultiPolygon
from sqlalchemy import func, select

from server.extensions import db
from server.models import Commune, Hamlet, Household, Province, Resident, Team, User
from server.models.types import utcnow
from server.services.accounts import hash_password
from server.services.changes import ChangeClock, commune_scope
from server.services.commune_boundaries import load_communes, read_features
from server.services.demo_history import seed_campaign_history

# The province's 95 communes (boundaries); the demo works in one of them, DEMO_COMMUNE.
DATA = Path(__file__).resolve().parent.parent / "data" / "dong_nai_communes.geojson"
DEMO_COMMUNE = "26425"
HAMLET_COUNT = 31  # the commune's 2025 plan describes 31 teams
HOUSEHOLDS_PER_HAMLET = 12
SEED = 26425

HAMLET_NAMES = [
    "Bảo Định", "Bảo Thị", "Bảo Hòa", "Trung Lương", "Nhân Nghĩa", "Tân Hữu", "Bình Xuân",
    "Suối Cát", "Gia Ray", "Trường Thọ", "Thọ Lộc", "Thọ Hòa", "Thọ Chánh", "Bình Hòa",
    "Bình Tân", "Bình Thuận", "Bình Khánh", "Hòa Bình", "Tân Phong", "Tân Xuân", "Xuân Hòa",
    "Phú Hợp", "Phú Mỹ", "Lò Than", "Chà Rang", "Thọ Phước", "Đông Hải", "Việt Kiều",
    "Trung Tín", "Nam Hà", "Bàu Sen",
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
            "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_M = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Kim", "Thanh", "Mỹ"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Lâm", "Nam", "Phúc", "Quang",
           "Sơn", "Tâm", "Thắng", "Trung", "Việt"]
GIVEN_F = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
           "Ngân", "Nhung", "Phương", "Thảo", "Trang", "Yến"]
STREETS = ["Tổ 1", "Tổ 2", "Tổ 3", "Tổ 4", "Tổ 5", "Tổ 6"]

DEMO_USERS = [
    ("demo.member", "Thành viên Tổ CNSCĐ (demo)", "member"),
    ("demo.lead", "Tổ trưởng Tổ CNSCĐ (demo)", "team_lead"),
    ("demo.officer", "Cán bộ Phòng Văn hóa – Xã hội (demo)", "commune_officer"),
    ("demo.province", "Chuyên viên Sở KH&CN (demo)", "province_analyst"),
    ("demo.admin", "Quản trị hệ thống (demo)", "admin"),
]


def commune_polygon(commune):
    """The demo commune's boundary as one shapely polygon."""
    shape_ = to_shape(commune.boundary)
    return shape_.geoms[0] if len(shape_.geoms) == 1 else shape_


def random_point_in(polygon, rng):
    """A uniformly random point inside ``polygon``."""
    minx, miny, maxx, maxy = polygon.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(p):
            return p


def partition(polygon, count, rng, relax=3):
    """Split ``polygon`` into ``count`` non-overlapping cells that cover it exactly.

    Voronoi cells of random seeds, smoothed by a few Lloyd iterations so hamlets look compact.
    """
    seeds = [random_point_in(polygon, rng) for _ in range(count)]
    for step in range(relax + 1):
        cells = voronoi_polygons(MultiPoint(seeds), extend_to=polygon.envelope.buffer(0.05))
        ordered = []
        for seed in seeds:
            cell = next(c for c in cells.geoms if c.contains(seed))
            ordered.append(cell.intersection(polygon))
        if step < relax:
            seeds = [c.representative_point() if not polygon.contains(c.centroid) else c.centroid
                     for c in ordered]
    return [c if c.geom_type == "MultiPolygon" else MultiPolygon([c]) for c in ordered]


def _person(rng, sex):
    if sex == "F":
        return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"


def _ensure_units(rng):
    province = db.session.execute(select(Province).where(Province.code == "75")).scalar_one_or_none()
    if province is None:
        province = Province(code="75", name="Đồng Nai", settings={
            "targets": {"adults_with_CKS": {"2025": 0.5, "2030": 0.7},
                        "adults_with_smartphone": {"2025": 0.8, "2030": 0.95},
                        "people_with_SSKDT": 0.9, "people_15_with_payment_account": 0.8},
            "service_labels": {"APPTINH": "Đồng Nai Số"},
        })
        db.session.add(province)
        db.session.flush()
    # The same loader as `flask units load-communes` (an upsert by code: idempotent).
    load_communes(province, read_features(DATA))
    commune = db.session.execute(select(Commune).where(Commune.code == DEMO_COMMUNE,
                                                       Commune.valid_to.is_(None))).scalar_one()
    return province, commune, commune_polygon(commune)


def _ensure_hamlets(commune, polygon, clock, rng):
    hamlets = list(db.session.scalars(select(Hamlet).where(Hamlet.commune_id == commune.id)
                                      .order_by(Hamlet.code)))
    if hamlets:
        return hamlets
    kinds = ["ap"] * 27 + ["khu_pho"] * 4
    for i, cell in enumerate(partition(polygon, HAMLET_COUNT, rng), start=1):
        households = rng.randint(260, 620)
        kind = kinds[i - 1]
        name = ("Ấp " if kind == "ap" else "Khu phố ") + HAMLET_NAMES[i - 1]
        hamlet = Hamlet(commune_id=commune.id, code=f"{commune.code}-{i:03d}", name=name, kind=kind,
                        boundary=from_shape(cell, srid=4326), households_total=households,
                        adults_total=int(households * rng.uniform(2.4, 2.9)),
                        change_seq=clock.next())
        db.session.add(hamlet)
        hamlets.append(hamlet)
        db.session.flush()
        team = Team(commune_id=commune.id, name=f"Tổ CNSCĐ {name}")
        team.hamlets.append(hamlet)
        db.session.add(team)
    db.session.flush()
    return hamlets


def _ensure_households(hamlets, clock, rng):
    hamlet_ids = [h.id for h in hamlets]
    existing = db.session.scalar(select(func.count()).select_from(Household)
                                 .where(Household.hamlet_id.in_(hamlet_ids)))
    if existing:
        return
    now = utcnow()
    for hamlet in hamlets:
        area = to_shape(hamlet.boundary)
        for _ in range(HOUSEHOLDS_PER_HAMLET):
            members = rng.randint(2, 6)
            adults = rng.randint(max(1, members - 2), min(4, members))  # about 70% adults
            head_sex = rng.choice("MMF")
            point = random_point_in(area, rng)
            household = Household(
                id=uuid.UUID(int=rng.getrandbits(128), version=4), hamlet_id=hamlet.id,
                address=f"{rng.choice(STREETS)}, {hamlet.name}", head_name=_person(rng, head_sex),
                members_count=members, adults_count=adults,
                phone=f"+849{rng.randint(10000000, 99999999)}" if rng.random() < 0.6 else None,
                location=from_shape(point, srid=4326), location_accuracy_m=rng.choice([5, 8, 12, 20]),
                change_seq=clock.next(), created_at=now, updated_at=now,
            )
            db.session.add(household)
            for j in range(members):
                sex = head_sex if j == 0 else rng.choice("MF")
                adult = j < adults
                db.session.add(Resident(
                    id=uuid.UUID(int=rng.getrandbits(128), version=4), household_id=household.id,
                    hamlet_id=hamlet.id, full_name=household.head_name if j == 0 else _person(rng, sex),
                    birth_year=rng.randint(1945, 2006) if adult else rng.randint(2008, 2022),
                    sex=sex, consent_given=True, consent_purposes=["support", "contact", "photo"],
                    consent_at=now, change_seq=clock.next(), created_at=now, updated_at=now,
                ))
        db.session.flush()
        _baseline_from_sample(hamlet)


def _baseline_from_sample(hamlet):
    """Baselines that match the demo's small registry, so its rates read like a real campaign's.

    A real hamlet has 260–620 households; the demo registers a dozen per hamlet to stay fast, and
    rates over real-size baselines would all be 1–2%. The baseline is the sample plus a few
    households (and adults) the teams have not registered yet.
    """
    index = int(hamlet.code[-3:])
    households = db.session.scalar(select(func.count()).select_from(Household)
                                   .where(Household.hamlet_id == hamlet.id))
    adults = db.session.scalar(select(func.coalesce(func.sum(Household.adults_count), 0))
                               .where(Household.hamlet_id == hamlet.id))
    hamlet.households_total = households + index % 3
    hamlet.adults_total = adults + index % 4


def _ensure_users(province, commune, hamlets, password):
    first_team = db.session.scalar(select(Team).join(Team.hamlets).where(Hamlet.id == hamlets[0].id))
    units = {
        "member": dict(commune_id=commune.id, team_id=first_team.id),
        "team_lead": dict(commune_id=commune.id, team_id=first_team.id),
        "commune_officer": dict(commune_id=commune.id),
        "province_analyst": dict(),
        "admin": dict(),
    }
    names = []
    for username, display_name, role in DEMO_USERS:
        user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = User(username=username, display_name=display_name, role=role,
                        password_hash=hash_password(password), province_id=province.id,
                        **units[role])
            db.session.add(user)
        names.append(username)
    return names


def seed(password):
    """Create whatever part of the demo data set is missing; returns counts for the CLI."""
    rng = random.Random(SEED)
    province, commune, polygon = _ensure_units(rng)
    clock = ChangeClock(commune_scope(commune.id))
    hamlets = _ensure_hamlets(commune, polygon, clock, rng)
    _ensure_households(hamlets, clock, rng)
    users = _ensure_users(province, commune, hamlets, password)
    clock.save()
    db.session.commit()
    seed_campaign_history(commune)  # October 2025 CKS campaign: visits, follow-ups
    ids = [h.id for h in hamlets]
    count = lambda model: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(model).where(model.hamlet_id.in_(ids)))
    return {"commune": f"{commune.code} {commune.name}", "hamlets": len(hamlets),
            "households": count(Household), "residents": count(Resident), "users": ", ".join(users)}
