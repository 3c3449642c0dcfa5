"""A plausible history of "Chiến dịch 30 ngày chữ ký số" (1/10–1/11/2025) for the demo commune.

``seed_campaign_history(commune)`` gives the households made by ``seed-demo`` the visits, service
lines and follow-ups a month of door-to-door work would have left, so coverage figures mean
something on first run. Choices:

- Deterministic: every hamlet and every household draws from its own ``random.Random`` seeded
  by its code or id, so a household's history depends only on that household (a phone that
  registers more households does not reshuffle the rest). Ids are uuid5 of stable keys; a
  follow-up's id is the one push gives it (uuid5 of its visit id).
- Idempotent: rows whose id exists are skipped, so a second run inserts nothing.
- Visits are written as a phone would have pushed them: ``content_sha256`` is the hash of the
  validated push data, so a retry of the same visit answers ``duplicate``; a follow-up is closed
  by a later reaching visit, at that visit's ``received_at``, as push does.
- Who visited: one extra member per team, ``to.<hamlet code>`` (e.g. ``to.26425-007``), sharing
  ``demo.member``'s password hash (the demo password; one Argon2 hash instead of 31). Hamlet
  001's visits are also shared with ``demo.member`` and ``demo.lead``.
- Hamlets are uneven on purpose: a few leading (~70% of adults with a CKS), most steady, a few
  lagging (<20%), one barely started (two households in the last days), one not started.
  Hamlet 001 (the demo member's) is always a steady one.
- About 4% of visits have no GPS fix and 4% a point outside their hamlet (recorded elsewhere):
  material for data-quality flags. Times are local (UTC+7) working hours.
- Only households and residents the seed made (``created_by_id`` null) get a history.
"""
import logging
import random
import uuid
from datetime import date, datetime, time, timedelta

from flask import current_app
from geoalchemy2.shape import to_shape
from shapely import Point
from shapely.prepared import prep
from sqlalchemy import select

from server.extensions import db
from server.models import (FollowUp, Hamlet, Household, Resident, Service, User, Visit,
                           VisitService, team_hamlets)
from server.services.changes import ChangeClock, commune_scope
from server.services.records import content_hash, local_day, point
from server.services.sync_visits import FOLLOWUP_NAMESPACE
from server.vocab import LOCAL_TIMEZONE, REACHED_OUTCOMES

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("fca2c755-5a8d-4fb0-996f-5f7bf8884233")
SEED = "26425-chien-dich-cks-2025"
YEAR = 2025  # ages are counted in the campaign's year
LAST_DAY = date(2025, 11, 7)  # re-visits after the campaign stop here
CKS_HAD = 0.10  # adults who already had a personal signature before the campaign
CKS_WAITING = 0.15  # of the signatures requested, those not issued on the spot (in_progress)
PROVIDERS = [("VNPT", 40), ("Viettel", 30), ("FPT", 10), ("MISA", 8), ("BKAV", 7), ("Khác", 5)]

# visit: share of households visited; back: chance the team keeps a promised return; cks:
# target share of adults with a CKS; start: first campaign day (October); pilot: share of first
# visits in the September pilot.
PROFILES = {
    "leading": dict(visit=1.0, back=0.95, cks=(0.72, 0.80), start=(1, 3), pilot=0.1),
    "steady": dict(visit=0.85, back=0.75, cks=(0.32, 0.58), start=(1, 8), pilot=0.03),
    "lagging": dict(visit=0.5, back=0.5, cks=(0.10, 0.16), start=(12, 20), pilot=0.0),
    "barely": dict(visit=0.0, back=0.0, cks=(0.3, 0.3), start=(29, 31), pilot=0.0),
    "idle": dict(visit=0.0, back=0.0, cks=(0.0, 0.0), start=(31, 31), pilot=0.0),
}
PROFILE_MIX = ["idle", "barely"] + ["lagging"] * 4 + ["leading"] * 5
FIRST_OUTCOMES = [("completed", 70), ("partial", 14), ("not_home", 12), ("refused", 4)]
LATER_OUTCOMES = [("completed", 78), ("partial", 8), ("not_home", 14)]
# (code, minimum age or the configured "adult"/"payment" age, chance of a line per person met,
# [(result, weight)]); the CKS result depends on the hamlet (see _cks_line).
PERSON_LINES = [
    ("VNEID", 14, 1.0, [("already_had", 68), ("done", 24), ("failed", 3), ("declined", 5)]),
    ("CKS", "adult", 1.0, None),
    ("TTKDTM", "payment", 0.2, [("already_had", 55), ("done", 40), ("declined", 5)]),
    ("DVCTT", "adult", 0.22, [("done", 75), ("already_had", 25)]),
    ("ATTT", "adult", 0.3, [("done", 100)]),
    ("KYNANGSO", "adult", 0.07, [("done", 100)]),
    ("SSKDT", 0, 0.08, [("done", 60), ("already_had", 40)]),
    ("VSSID", "adult", 0.05, [("done", 70), ("already_had", 30)]),
    ("APPTINH", "adult", 0.1, [("done", 100)]),
    ("THIETBI", "adult", 0.02, [("done", 100)]),
]
OTHER_HELP = ["Cài đặt ứng dụng Zalo", "Hướng dẫn gọi video", "Cài ứng dụng ngân hàng"]
MARKETPLACES = ["Shopee", "TikTok Shop", "Postmart", "Lazada", "Voso"]
NOTES = {
    "completed": ["", "", "", "Đã hướng dẫn sử dụng VNeID và chữ ký số",
                  "Hộ rất hợp tác", "Đã hướng dẫn nhận diện tin nhắn lừa đảo"],
    "partial": ["Một số thành viên đi làm vắng nhà", "Người lớn tuổi cần con cháu hỗ trợ thêm"],
    "not_home": ["Không có ai ở nhà, hẹn quay lại", "Cả nhà đi làm rẫy"],
    "refused": ["Hộ chưa có nhu cầu", "Không muốn cung cấp thông tin"],
}
WAITING_NOTE = "Chờ cấp chứng thư số, quay lại hướng dẫn ký"


def _pick(rng, weighted):
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _random_point_in(shape, area, rng):
    minx, miny, maxx, maxy = shape.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if area.contains(p):
            return p


class HamletPlan:
    """What one hamlet's team did: profile, members, boundary, catalogue."""

    def __init__(self, hamlet, profile, members, area, others, catalogue, ages):
        self.hamlet, self.profile, self.members = hamlet, profile, members
        self.rng = random.Random(f"{SEED}:{hamlet.code}")
        p = PROFILES[profile]
        self.visit_share, self.back, self.pilot = p["visit"], p["back"], p["pilot"]
        self.start = date(2025, 10, self.rng.randint(*p["start"]))
        target = self.rng.uniform(*p["cks"])
        reach = max(self.visit_share, 0.5) * 0.9
        self.uptake = min(0.97, max(0.0, (target / reach - CKS_HAD) / (1 - CKS_HAD)))
        self.shape, self.area = area
        self.others, self.catalogue, self.ages = others, catalogue, ages

    def first_day(self, rng):
        if rng.random() < self.pilot:
            return date(2025, 9, rng.randint(22, 30))
        span = (date(2025, 11, 1) - self.start).days
        return self.start + timedelta(days=rng.randint(0, span))

    def line(self, code, resident_id, result, provider=None, detail=None):
        service = self.catalogue.get(code)
        if service is None:
            return None
        if provider not in (service.providers or []):
            provider = None
        return {"code": code, "resident_id": resident_id, "result": result,
                "provider": provider, "detail": detail}

    def location(self, rng, home):
        roll = rng.random()
        if roll < 0.04:
            return None
        if roll < 0.08 and self.others:
            spot = _random_point_in(*rng.choice(self.others), rng)
        else:
            spot = Point(home.x + rng.gauss(0, 0.0001), home.y + rng.gauss(0, 0.0001))
            if not self.area.contains(spot):
                spot = home
        return {"lat": round(spot.y, 6), "lon": round(spot.x, 6),
                "accuracy_m": float(rng.choice([4, 6, 8, 10, 12, 16, 25, 40]))}


def _moment(rng, day):
    minute = (rng.randint(450, 675) if rng.random() < 0.55 else rng.randint(810, 1035))
    return datetime.combine(day, time(minute // 60, minute % 60), LOCAL_TIMEZONE)


def _cks_line(plan, rng, resident_id, waiting):
    """An adult's signature: had it, got it (maybe not issued yet: ``waiting``), or declined."""
    roll, provider = rng.random(), _pick(rng, PROVIDERS)
    if roll < CKS_HAD:
        return plan.line("CKS", resident_id, "already_had")
    if roll < CKS_HAD + (1 - CKS_HAD) * plan.uptake:
        if rng.random() < CKS_WAITING:
            waiting[resident_id] = provider
            return plan.line("CKS", resident_id, "in_progress", provider)
        return plan.line("CKS", resident_id, "done", provider)
    return plan.line("CKS", resident_id, "declined")


def _person_lines(plan, rng, resident, waiting):
    """Service lines for one resident met during a visit."""
    age = YEAR - resident.birth_year if resident.birth_year else plan.ages["adult"]
    lines = []
    for code, min_age, chance, results in PERSON_LINES:
        if age < plan.ages.get(min_age, min_age) or rng.random() >= chance:
            continue
        if code == "CKS":
            lines.append(_cks_line(plan, rng, resident.id, waiting))
        else:
            lines.append(plan.line(code, resident.id, _pick(rng, results)))
    if rng.random() < 0.015:
        lines.append(plan.line("KHAC", resident.id, "done", detail=rng.choice(OTHER_HELP)))
    return lines


def _household_visits(plan, household, residents, forced=False):
    """The visits of one household, oldest first: a first call, then returns for what was left."""
    rng = random.Random(f"{SEED}:{household.id}")
    if not forced and rng.random() >= plan.visit_share:
        return []
    home = to_shape(household.location) if household.location is not None \
        else plan.shape.representative_point()
    day = plan.first_day(rng) if not forced else plan.start + timedelta(days=rng.randint(0, 1))
    member = rng.choice(plan.members)
    unseen = list(residents)
    waiting, offered_shop, visits = {}, False, []
    for n in range(3):
        outcome = _pick(rng, FIRST_OUTCOMES if n == 0 else LATER_OUTCOMES)
        lines, follow_up, notes = [], None, rng.choice(NOTES[outcome])
        if outcome in REACHED_OUTCOMES:
            for resident_id, provider in list(waiting.items()):
                lines.append(plan.line("CKS", resident_id, "done", provider))
                del waiting[resident_id]
            met = unseen if outcome == "completed" else \
                [r for i, r in enumerate(unseen) if i == 0 or rng.random() < 0.5]
            for resident in met:
                lines += _person_lines(plan, rng, resident, waiting)
            unseen = [r for r in unseen if r not in met]
            if not offered_shop and rng.random() < 0.07:
                lines.append(plan.line("TMDT", None, _pick(rng, [
                    ("done", 55), ("already_had", 30), ("in_progress", 15)]),
                    detail=rng.choice(MARKETPLACES)))
            offered_shop = True
            if waiting:
                follow_up, notes = day + timedelta(days=rng.randint(5, 12)), WAITING_NOTE
            elif unseen and outcome == "partial" and rng.random() < 0.6:
                follow_up = day + timedelta(days=rng.randint(2, 7))
        elif outcome == "not_home":
            follow_up = day + timedelta(days=rng.randint(1, 4))
        visited_at = _moment(rng, day)
        data = {"household_id": household.id, "visited_at": visited_at,
                "location": plan.location(rng, home), "outcome": outcome, "notes": notes,
                "services": [line for line in lines if line is not None],
                "follow_up_on": follow_up}
        delay = rng.randint(2, 45) if rng.random() < 0.6 else rng.randint(120, 1200)
        visits.append({"id": uuid.uuid5(NAMESPACE, f"visit:{household.id}:{n}"), "data": data,
                       "member": member, "hamlet_id": household.hamlet_id,
                       "received_at": visited_at + timedelta(minutes=delay),
                       "approved": visited_at.date() < date(2025, 10, 15) and rng.random() < 0.1})
        if follow_up is None or rng.random() >= plan.back:
            break
        day = follow_up + timedelta(days=rng.randint(0, 3))
        if day > LAST_DAY:
            break
        if rng.random() > 0.8:
            member = rng.choice(plan.members)
    return visits


def _followups(visits):
    """Follow-ups of one household's visits, closed by a later reaching visit as push does."""
    rows = []
    for i, visit in enumerate(visits):
        data = visit["data"]
        if data["follow_up_on"] is None:
            continue
        closer = next((v for v in visits[i + 1:] if v["data"]["outcome"] in REACHED_OUTCOMES
                       and v["data"]["visited_at"] > data["visited_at"]), None)
        rows.append({"id": uuid.uuid5(FOLLOWUP_NAMESPACE, str(visit["id"])),
                     "visit_id": visit["id"], "household_id": data["household_id"],
                     "hamlet_id": visit["hamlet_id"], "due_on": data["follow_up_on"],
                     "status": "done" if closer else "open", "note": data["notes"][:255],
                     "created_at": visit["received_at"],
                     "closed_at": closer["received_at"] if closer else None})
    return rows


def _team_members(commune, hamlets):
    """Per hamlet id, the demo users who visit it; creates the ``to.<code>`` members."""
    team_of = dict(db.session.execute(
        select(team_hamlets.c.hamlet_id, team_hamlets.c.team_id)
        .where(team_hamlets.c.hamlet_id.in_([h.id for h in hamlets]))).all())
    names = {f"to.{h.code}": h for h in hamlets if h.id in team_of}
    users = {u.username: u for u in db.session.scalars(select(User).where(
        User.username.in_([*names, "demo.member", "demo.lead"])))}
    template = users.get("demo.member")
    password_hash = template.password_hash if template else _demo_hash()
    for username, hamlet in names.items():
        if username not in users:
            users[username] = User(
                username=username, display_name=f"Thành viên Tổ CNSCĐ {hamlet.name} (demo)",
                role="member", password_hash=password_hash, province_id=commune.province_id,
                commune_id=commune.id, team_id=team_of[hamlet.id])
            db.session.add(users[username])
    db.session.flush()
    members = {}
    for username, hamlet in names.items():
        extra = [users[n] for n in ("demo.lead", "demo.member")
                 if n in users and users[n].team_id == team_of[hamlet.id]]
        members[hamlet.id] = [users[username], *extra]
    return members


def _demo_hash():
    from server.services.accounts import hash_password

    return hash_password(current_app.config["DEMO_PASSWORD"])


def _plans(commune, hamlets):
    members = _team_members(commune, hamlets)
    catalogue = {s.code: s for s in db.session.scalars(select(Service).where(Service.active))}
    shapes = {h.id: to_shape(h.boundary) for h in hamlets if h.boundary is not None}
    shapes = {i: (shape, prep(shape)) for i, shape in shapes.items()}
    mix = PROFILE_MIX + ["steady"] * max(0, len(hamlets) - 1 - len(PROFILE_MIX))
    mix = mix[:max(0, len(hamlets) - 1)]
    random.Random(SEED).shuffle(mix)
    ages = {"adult": current_app.config.get("ADULT_AGE", 18),
            "payment": current_app.config.get("PAYMENT_ACCOUNT_AGE", 15)}
    plans = {}
    for hamlet, profile in zip(hamlets, ["steady"] + mix):
        if hamlet.id not in members or hamlet.id not in shapes:
            continue
        others = [area for i, area in shapes.items() if i != hamlet.id]
        plans[hamlet.id] = HamletPlan(hamlet, profile, members[hamlet.id], shapes[hamlet.id],
                                      others, catalogue, ages)
    return plans


def _existing(model, ids):
    found, ids = set(), list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(db.session.scalars(select(model.id).where(model.id.in_(chunk))))
    return found


def seed_campaign_history(commune):
    """Add the campaign's visits, lines and follow-ups that are missing; returns counts."""
    hamlets = list(db.session.scalars(select(Hamlet).where(Hamlet.commune_id == commune.id)
                                      .order_by(Hamlet.code)))
    plans = _plans(commune, hamlets)
    households = list(db.session.scalars(
        select(Household).where(Household.hamlet_id.in_(list(plans)),
                                Household.created_by_id.is_(None), Household.deleted.is_(False),
                                Household.merged_into_id.is_(None))
        .order_by(Household.hamlet_id, Household.id)))
    residents = {}
    for resident in db.session.scalars(
            select(Resident).where(Resident.hamlet_id.in_(list(plans)),
                                   Resident.created_by_id.is_(None),
                                   Resident.deleted.is_(False)).order_by(Resident.id)):
        residents.setdefault(resident.household_id, []).append(resident)
    by_hamlet = {}
    for household in households:
        by_hamlet.setdefault(household.hamlet_id, []).append(household)

    visits, followups = [], []
    for hamlet_id, plan in plans.items():
        homes = by_hamlet.get(hamlet_id, [])
        forced = set(plan.rng.sample(range(len(homes)), min(2, len(homes)))) \
            if plan.profile == "barely" else set()
        for i, household in enumerate(homes):
            mine = _household_visits(plan, household, residents.get(household.id, []),
                                     forced=i in forced)
            visits += mine
            followups += _followups(mine)

    new_visits = _insert_visits(visits)
    taken = _existing(FollowUp, [f["id"] for f in followups])
    new_followups = sorted((f for f in followups if f["id"] not in taken),
                           key=lambda f: (f["closed_at"] or f["created_at"], str(f["id"])))
    if new_followups:
        clock = ChangeClock(commune_scope(commune.id))  # phones pull follow-ups by this counter
        for row in new_followups:
            row["change_seq"] = clock.next()
        db.session.execute(FollowUp.__table__.insert(), new_followups)
        clock.save()
    db.session.commit()
    _rebuild_aggregates(commune.code)
    return {"visits": new_visits, "followups": len(new_followups)}


def _insert_visits(visits):
    taken = _existing(Visit, [v["id"] for v in visits])
    rows, lines = [], []
    for visit in visits:
        if visit["id"] in taken:
            continue
        data, member = visit["data"], visit["member"]
        location = data["location"]
        rows.append({
            "id": visit["id"], "household_id": data["household_id"],
            "hamlet_id": visit["hamlet_id"], "member_id": member.id,
            "device_id": f"demo-{member.username}", "visited_at": data["visited_at"],
            "visited_on": local_day(data["visited_at"]), "location": point(location),
            "location_accuracy_m": location["accuracy_m"] if location else None,
            "outcome": data["outcome"], "notes": data["notes"],
            "follow_up_on": data["follow_up_on"], "content_sha256": content_hash(data),
            "review_state": "approved" if visit["approved"] else "received", "revision": 1,
            "received_at": visit["received_at"]})
        lines += [{"visit_id": visit["id"], "service_code": line["code"],
                   "resident_id": line["resident_id"], "result": line["result"],
                   "provider": line["provider"], "detail": line["detail"]}
                  for line in data["services"]]
    if rows:
        db.session.execute(Visit.__table__.insert(), rows)
    if lines:
        db.session.execute(VisitService.__table__.insert(), lines)
    return len(rows)


def _rebuild_aggregates(commune_code):
    """Refresh the commune's figures; the aggregates module's own failures don't undo the seed."""
    try:
        from server.services import aggregates

        aggregates.rebuild(commune_code)
    except Exception:  # noqa: BLE001 - the history is committed; `aggregates rebuild` redoes it
        db.session.rollback()
        log.exception("demo history: aggregates rebuild for %s failed", commune_code)
