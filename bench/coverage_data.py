"""Helpers of bench/coverage.py: the throwaway database, the province (Đồng Nai's 95 real
communes, 30 synthetic hamlets each, households, residents and visits written with PostgreSQL
``COPY``), fresh push items, SQL timing by statement, and the correctness checks' SQL.

Deterministic from the seed: every hamlet draws from its own ``random.Random`` streams (its
people, their names, each phase's visits), so a phase that needs a hamlet's households again
regenerates the same ones instead of keeping a million of them in memory.
"""
import json
import os
import random
import re
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
from shapely import to_wkt
from shapely.geometry import MultiPolygon, shape

from server.services.demo import (GIVEN_F, GIVEN_M, HAMLET_NAMES, MIDDLE_F, MIDDLE_M, STREETS,
                                  SURNAMES, partition, random_point_in)

DATA = Path(__file__).resolve().parent.parent / "server" / "data" / "dong_nai_communes.geojson"
PASSWORD = "bench-password-42"  # every bench user's
FOCUS = "26425"  # Xuân Lộc: the commune whose endpoint is timed (always in the province)
HAMLETS_PER_COMMUNE = 30
HOUSEHOLDS = 1_000_000  # at --scale 1 over the 95 communes, about 4.0 residents each
VISITS_PER_HOUSEHOLD = 0.5  # 1×: 0.5M visits; 10× adds nine times as many
MEMBERS = [1, 2, 3, 4, 5, 6, 7], [5, 12, 21, 26, 18, 11, 7]  # household sizes, mean 4.01
OUTCOMES = ["completed", "partial", "not_home", "refused"], [72, 13, 11, 4]
REVIEW = ["received", "approved", "has_issues", "rejected"], [70, 28, 1, 1]
# (code, minimum age, chance per resident met, results and weights); CKS leans on October.
LINES = [("VNEID", 14, 0.5, (["already_had", "done", "failed", "declined"], [60, 30, 4, 6])),
         ("CKS", 18, 0.7, (["done", "already_had", "in_progress", "declined", "failed"],
                           [45, 12, 15, 10, 3])),
         ("DVCTT", 18, 0.12, (["done", "already_had"], [75, 25])),
         ("TTKDTM", 15, 0.1, (["already_had", "done", "declined"], [55, 40, 5])),
         ("ATTT", 18, 0.15, (["done"], [1]))]
CKS_OFF_CAMPAIGN = (["done", "already_had", "in_progress", "declined"], [15, 30, 10, 45])
TMDT = 0.08, (["done", "in_progress", "declined"], [50, 30, 20])  # household-level
PROVIDERS = ["VNPT", "Viettel", "FPT", "MISA", "BKAV"]
NOTES = {"completed": "Đã hỗ trợ cả hộ", "partial": "Còn người vắng nhà, hẹn quay lại",
         "not_home": "Nhà vắng, hẹn quay lại", "refused": "Hộ chưa có nhu cầu"}
# 1×: August to early November 2025, the CKS campaign (October) heaviest.
BASE_MONTHS = [(date(2025, 8, 1), 31, 15), (date(2025, 9, 1), 30, 20),
               (date(2025, 10, 1), 31, 55), (date(2025, 11, 1), 7, 10)]
EARLIER = (date(2024, 11, 1), 273)  # 10×: 65% of the extra visits fall in Nov 2024 – Jul 2025
EXTRA_EARLIER_SHARE = 0.65
BIG_TABLES = ("households", "residents", "visits", "visit_services")
PUSH_DAYS = (date(2025, 11, 1), 7)  # fresh visits: the newest week of the data


class Throwaway:
    """The database ``cnscd_cov_<pid>``, made for one run and dropped after it."""

    def __init__(self, url):
        base, _, _ = url.rpartition("/")
        self.server_url, self.name = url, f"cnscd_cov_{os.getpid()}"
        self.url = f"{base}/{self.name}"

    def _admin(self, sql):
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self):
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")

    def drop(self, keep=False):
        if keep:
            print(f"kept the database: {self.url}")
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Statements:
    """SQL time by statement kind (``INSERT INTO t``, ``DELETE FROM t``, ``SELECT … FROM t``
    with ``t`` its first table) while in the ``with`` block, to see which one grows."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.event, self.totals = engine, event, {}

    def _before(self, conn, *args):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, *args):
        m = (re.match(r"\s*(INSERT INTO|DELETE FROM|UPDATE)\s+(\w+)", statement)
             or re.search(r"\b(FROM)\s+(\w+)", statement))
        key = (f"{'SELECT' if m.group(1) == 'FROM' else m.group(1)} {m.group(2)}" if m
               else statement.split(None, 1)[0])
        spent = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        self.totals[key] = self.totals.get(key, 0.0) + spent

    def __enter__(self):
        self.event.listen(self.engine, "before_cursor_execute", self._before)
        self.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        self.event.remove(self.engine, "before_cursor_execute", self._before)
        self.event.remove(self.engine, "after_cursor_execute", self._after)

    def top(self, per=1, count=3):
        """The ``count`` largest, as ``[(kind, seconds / per)]``."""
        ranked = sorted(self.totals.items(), key=lambda kv: -kv[1])[:count]
        return [(k, v / max(1, per)) for k, v in ranked]


@dataclass
class HamletSpec:
    id: int
    code: str
    name: str
    kind: str
    commune_id: int
    cell: MultiPolygon
    spots: list  # points inside the cell that households sit near
    households: int


@dataclass
class ProvinceSpec:
    communes: list  # (id, code, name, kind, geometry)
    hamlets: list
    focus: object = None  # the FOCUS commune's tuple

    def hamlets_of(self, commune_id):
        return [h for h in self.hamlets if h.commune_id == commune_id]


def uid(rng):
    """A version-4 UUID as 32 hex digits, from the seeded stream."""
    n = rng.getrandbits(128) & ~(0xF << 76) & ~(0x3 << 62) | (0x4 << 76) | (0x2 << 62)
    return f"{n:032x}"


def plan_province(seed, scale, communes=None):
    """The province's communes and hamlets (cells of each real boundary); no database."""
    features = json.loads(DATA.read_text(encoding="utf-8"))["features"]
    features.sort(key=lambda f: f["properties"]["code"])
    if communes is not None and communes < len(features):
        focus = [f for f in features if f["properties"]["code"] == FOCUS]
        features = focus + [f for f in features if f["properties"]["code"] != FOCUS][:communes - 1]
    mean = HOUSEHOLDS / (95 * HAMLETS_PER_COMMUNE) * scale
    province = ProvinceSpec([], [])
    for cid, feature in enumerate(features, start=1):
        props = feature["properties"]
        kind = "phuong" if props["full_name"].startswith("Phường") else "xa"
        polygon = shape(feature["geometry"])
        commune = (cid, props["code"], props["name"], kind, polygon)
        province.communes.append(commune)
        province.focus = commune if props["code"] == FOCUS else province.focus
        rng = random.Random(f"{seed}:{props['code']}:cells")
        for i, cell in enumerate(partition(polygon, HAMLETS_PER_COMMUNE, rng), start=1):
            want = mean * rng.uniform(0.55, 1.45)
            households = int(want) + (rng.random() < want % 1)
            prefix = "Khu phố " if kind == "phuong" else "Ấp "
            spots = [random_point_in(cell, rng) for _ in range(8)]
            province.hamlets.append(HamletSpec(
                len(province.hamlets) + 1, f"{props['code']}-{i:03d}",
                prefix + HAMLET_NAMES[(i - 1) % len(HAMLET_NAMES)], "khu_pho" if kind == "phuong"
                else "ap", cid, cell, [(p.x, p.y) for p in spots], households))
    return province


def people(seed, hamlet):
    """``[(household id, deleted, lon, lat, [(resident id, birth year or None, sex)])]``."""
    rng = random.Random(f"{seed}:{hamlet.code}:people")
    households = []
    for _ in range(hamlet.households):
        lon, lat = rng.choice(hamlet.spots)
        lon, lat = lon + rng.gauss(0, 0.0008), lat + rng.gauss(0, 0.0008)
        size = rng.choices(*MEMBERS)[0]
        residents = []
        for j in range(size):
            if rng.random() < 0.02:
                year = None  # unknown: never counted as an adult
            elif j == 0:
                year = rng.randint(1945, 2000)
            else:
                year = rng.randint(1940, 2007) if rng.random() < 0.7 else rng.randint(2008, 2024)
            residents.append((uid(rng), year, rng.choice("MF")))
        households.append((uid(rng), rng.random() < 0.003, lon, lat, residents))
    return households


# --- COPY ----------------------------------------------------------------------------------

class Stream:
    """Rows into one ``COPY … FROM STDIN`` (text format) that ``stack`` ends, in chunks."""

    def __init__(self, stack, conn, table, columns):
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        self.copy = stack.enter_context(conn.cursor().copy(sql))
        self.lines, self.rows = [], 0

    def row(self, *values):
        self.lines.append("\t".join(r"\N" if v is None else str(v) for v in values))
        if len(self.lines) >= 2000:
            self.flush()

    def flush(self):
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.rows += len(self.lines)
            self.lines = []
        return self.rows


@contextmanager
def bulk(connect, tables=BIG_TABLES):
    """Load ``tables`` fast: secondary indexes dropped and rebuilt after, triggers (foreign-key
    checks) off on the loading connections when we are superuser. The rows are consistent by
    construction; the checks and the rebuilt indexes are the ones the app uses."""
    with connect() as admin:
        admin.autocommit = True
        indexes = admin.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [list(tables)]).fetchall()
        for name, _ in indexes:
            admin.execute(f"DROP INDEX {name}")
        yield
        admin.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            admin.execute(definition)
        for table in tables:
            admin.execute(f"ANALYZE {table}")


def loader(connect):
    """A connection for COPY, with triggers off if allowed."""
    conn = connect()
    try:
        conn.execute("SET session_replication_role = replica")
    except Exception:  # noqa: BLE001 - not superuser: foreign keys are checked, only slower
        conn.rollback()
    return conn


def copy_rows(conn, table, columns, rows):
    """A small table's rows through one COPY."""
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def write_units(conn, province, password_hash, officer):
    """Province, communes, hamlets, one team and one member per hamlet, the officer."""
    conn.execute("INSERT INTO provinces (id, code, name, valid_from, settings) "
                 "VALUES (1, '75', 'Đồng Nai', '2025-07-01', '{}')")
    multi = lambda g: g if g.geom_type == "MultiPolygon" else MultiPolygon([g])  # noqa: E731
    copy_rows(conn, "communes", ["id", "province_id", "code", "name", "kind", "valid_from",
                                 "boundary"],
              [(cid, 1, code, name, kind, "2025-07-01", "SRID=4326;" + to_wkt(multi(g), 6))
               for cid, code, name, kind, g in province.communes])
    hamlets = province.hamlets
    copy_rows(conn, "hamlets", ["id", "commune_id", "code", "name", "kind", "boundary",
                                "households_total", "adults_total", "valid_from", "change_seq"],
              [(h.id, h.commune_id, h.code, h.name, h.kind, "SRID=4326;" + to_wkt(h.cell, 6), 0,
                0, "2025-07-01", int(h.code[-3:])) for h in hamlets])
    copy_rows(conn, "teams", ["id", "commune_id", "name"],
              [(h.id, h.commune_id, f"Tổ CNSCĐ {h.name}") for h in hamlets])
    copy_rows(conn, "team_hamlets", ["team_id", "hamlet_id"], [(h.id, h.id) for h in hamlets])
    made = "2025-07-01 00:00:00+00"
    copy_rows(conn, "users", ["id", "username", "display_name", "password_hash", "role",
                              "province_id", "commune_id", "team_id", "active", "created_at"],
              [(h.id, f"to.{h.code}", f"Thành viên Tổ CNSCĐ {h.code}", password_hash, "member",
                1, h.commune_id, h.id, True, made) for h in hamlets]
              + [(officer, f"cb.{FOCUS}", "Cán bộ xã (bench)", password_hash, "commune_officer",
                  1, province.focus[0], None, True, made)])
    for table, last in (("provinces", 1), ("communes", len(province.communes)),
                        ("hamlets", len(hamlets)), ("teams", len(hamlets)), ("users", officer)):
        conn.execute(f"SELECT setval('{table}_id_seq', {last})")


def _person(rng, sex):
    middle, given = (MIDDLE_F, GIVEN_F) if sex == "F" else (MIDDLE_M, GIVEN_M)
    return f"{rng.choice(SURNAMES)} {rng.choice(middle)} {rng.choice(given)}"


def write_people(connect, seed, province):
    """Households and residents (two COPY streams at once); returns their counts."""
    made = "2025-07-15 08:00:00+07"
    with loader(connect) as ch, loader(connect) as cr, ExitStack() as stack:
        hs = Stream(stack, ch, "households", [
            "id", "hamlet_id", "address", "head_name", "members_count", "adults_count", "phone",
            "location", "location_accuracy_m", "version", "content_sha256", "deleted",
            "change_seq", "created_at", "updated_at"])
        rs = Stream(stack, cr, "residents", [
            "id", "household_id", "hamlet_id", "full_name", "birth_year", "sex", "phone",
            "consent_given", "consent_purposes", "consent_at", "anonymised", "version",
            "content_sha256", "deleted", "change_seq", "created_at", "updated_at"])
        seqs = {}
        for h in province.hamlets:
            text = random.Random(f"{seed}:{h.code}:text")
            seq = seqs.get(h.commune_id, HAMLETS_PER_COMMUNE)
            for hid, deleted, lon, lat, residents in people(seed, h):
                names = [_person(text, sex) for _, _, sex in residents]
                adults = sum(1 for _, year, _ in residents if year and year <= 2007)
                phone = f"09{text.randrange(10**8):08d}" if text.random() < 0.7 else None
                seq += 1
                hs.row(hid, h.id, f"Số {text.randint(1, 400)}, {text.choice(STREETS)}, {h.name}",
                       names[0], len(residents), adults, phone and "+84" + phone[1:],
                       f"SRID=4326;POINT({lon:.6f} {lat:.6f})", text.choice((5, 8, 12, 20)), 1,
                       f"{text.getrandbits(256):064x}", "t" if deleted else "f", seq, made, made)
                for (rid, year, sex), name in zip(residents, names):
                    seq += 1
                    rs.row(rid, hid, h.id, name, year, sex, None, "t", '["support", "contact"]',
                           made, "f", 1, f"{text.getrandbits(256):064x}", "f", seq, made, made)
            seqs[h.commune_id] = seq
        counts = hs.flush(), rs.flush()
    with connect() as conn:
        conn.cursor().executemany(
            "INSERT INTO change_counters (scope, value) VALUES (%s, %s)",
            [(f"commune:{cid}", value) for cid, value in seqs.items()])
        # Baselines: the registered households and adults plus a few the teams have not met.
        conn.execute("""UPDATE hamlets m SET households_total = c.n + c.n * (3 + m.id % 5) / 100,
                               adults_total = c.adults + c.adults * (2 + m.id % 4) / 100
                        FROM (SELECT hamlet_id, count(*) AS n, sum(adults_count) AS adults
                              FROM households GROUP BY hamlet_id) c WHERE c.hamlet_id = m.id""")
        # What autovacuum would have analysed by now (it is off on the test server); not the
        # 12-row catalogue, which stays below autovacuum's threshold in production too.
        conn.execute("ANALYZE communes, hamlets, teams, team_hamlets, users, change_counters")
    return counts


def _day(rng, phase):
    if phase == "extra" and rng.random() < EXTRA_EARLIER_SHARE:
        return EARLIER[0] + timedelta(days=rng.randrange(EARLIER[1]))
    first, days, _ = rng.choices(BASE_MONTHS, [w for *_, w in BASE_MONTHS])[0]
    return first + timedelta(days=rng.randrange(days))


def lines_for(rng, day, residents, outcome):
    """``[(code, resident id or None, result, provider)]`` of one visit."""
    if outcome == "refused":
        return [("VNEID", rng.choice(residents)[0], "declined", None)]
    if outcome == "not_home":
        return []
    met = rng.sample(residents, min(len(residents), rng.choice((1, 1, 2, 2, 3))))
    lines = []
    for rid, year, _ in met:
        age = day.year - year if year else 0
        for code, minimum, chance, results in LINES:
            if age >= minimum and rng.random() < chance:
                if code == "CKS" and not date(2025, 10, 1) <= day <= date(2025, 11, 1):
                    results = CKS_OFF_CAMPAIGN
                result = rng.choices(*results)[0]
                provider = (rng.choice(PROVIDERS) if code == "CKS"
                            and result in ("done", "in_progress") else None)
                lines.append((code, rid, result, provider))
    if rng.random() < TMDT[0]:
        lines.append(("TMDT", None, rng.choices(*TMDT[1])[0], None))
    if not lines:
        lines.append(("VNEID", met[0][0], "already_had", None))
    return lines


def visit_moment(rng, day):
    minute = rng.randint(450, 675) if rng.random() < 0.55 else rng.randint(810, 1035)
    return f"{day.isoformat()} {minute // 60:02d}:{minute % 60:02d}:{rng.randrange(60):02d}+07"


def write_visits(connect, seed, province, phase, factor):
    """``factor`` × 0.5 visits per household of every hamlet, dated by ``phase`` ("base": Aug –
    Nov 2025; "extra": also Nov 2024 – Jul 2025); returns (visits, lines)."""
    with loader(connect) as cv, loader(connect) as cl, ExitStack() as stack:
        vs = Stream(stack, cv, "visits", [
            "id", "household_id", "hamlet_id", "member_id", "device_id", "visited_at",
            "visited_on", "location", "location_accuracy_m", "outcome", "notes", "content_sha256",
            "review_state", "revision", "received_at"])
        ls = Stream(stack, cl, "visit_services", ["visit_id", "service_code", "resident_id",
                                                    "result", "provider"])
        for h in province.hamlets:
            households = people(seed, h)
            if not households:
                continue
            rng = random.Random(f"{seed}:{h.code}:visits:{phase}")
            want = len(households) * VISITS_PER_HOUSEHOLD * factor * rng.uniform(0.6, 1.4)
            for _ in range(int(want) + (rng.random() < want % 1)):
                hid, _, lon, lat, residents = rng.choice(households)
                day = _day(rng, phase)
                outcome = rng.choices(*OUTCOMES)[0]
                vid, at = uid(rng), visit_moment(rng, day)
                where = (None, None) if rng.random() < 0.04 else (
                    f"SRID=4326;POINT({lon + rng.gauss(0, 1e-4):.6f} "
                    f"{lat + rng.gauss(0, 1e-4):.6f})", rng.choice((4, 8, 12, 25)))
                vs.row(vid, hid, h.id, h.id, f"phone-{h.code}", at, day.isoformat(), *where,
                       outcome, NOTES[outcome], f"{rng.getrandbits(256):064x}",
                       rng.choices(*REVIEW)[0], 1, at[:11] + "20:00:00+07")
                for code, rid, result, provider in lines_for(rng, day, residents, outcome):
                    ls.row(vid, code, rid if code != "TMDT" else None, result, provider)
        counts = vs.flush(), ls.flush()
    return counts


def push_items(rng, households, count):
    """``count`` fresh visits to ``[(household id, residents)]``, as a phone sends them."""
    items = []
    for _ in range(count):
        hid, residents = rng.choice(households)
        day = PUSH_DAYS[0] + timedelta(days=rng.randrange(PUSH_DAYS[1]))
        outcome = rng.choices(["completed", "partial"], [85, 15])[0]
        items.append({"type": "visit", "id": str(uuid.UUID(uid(rng))), "data": {
            "household_id": hid, "visited_at": visit_moment(rng, day).replace(" ", "T") + ":00",
            "location": None, "outcome": outcome, "notes": NOTES[outcome], "follow_up_on": None,
            "services": [{"code": code, "resident_id": rid, "result": result,
                          "provider": provider, "detail": None}
                         for code, rid, result, provider in lines_for(rng, day, residents,
                                                                       outcome)]}})
    return items
