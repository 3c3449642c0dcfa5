"""The raw baseline: the rows the endpoint stores, written straight to the tables in bulk.

Same households, residents, visits, service lines and follow-ups (follow-ups closed the way the
push closes them), new ids, one transaction: PostgreSQL ``COPY`` or ``executemany``, SQLite
``executemany``. Foreign keys, indexes (GiST/R*Tree too) and constraints are the endpoint's.
"""
import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

from server.services.sync_visits import FOLLOWUP_NAMESPACE
from server.vocab import REACHED_OUTCOMES as REACHED

BASELINE_NAMESPACE = uuid.UUID("0b7f6a1e-5d4c-4e8a-9b1f-3c2d1e0f9a87")
LOCAL_OFFSET = timedelta(hours=7)

COLUMNS = {
    "households": ("id", "hamlet_id", "address", "head_name", "members_count", "adults_count",
                   "phone", "location", "location_accuracy_m", "version", "content_sha256",
                   "deleted", "change_seq", "created_by_id", "created_at", "updated_at"),
    "residents": ("id", "household_id", "hamlet_id", "full_name", "birth_year", "sex", "phone",
                  "consent_given", "consent_purposes", "consent_at", "anonymised", "version",
                  "content_sha256", "deleted", "change_seq", "created_by_id", "created_at",
                  "updated_at"),
    "visits": ("id", "household_id", "hamlet_id", "member_id", "device_id", "visited_at",
               "visited_on", "location", "location_accuracy_m", "outcome", "notes",
               "follow_up_on", "content_sha256", "review_state", "revision", "received_at"),
    "visit_services": ("visit_id", "service_code", "resident_id", "result", "provider", "detail"),
    "followups": ("id", "visit_id", "household_id", "hamlet_id", "due_on", "status", "note",
                  "change_seq", "created_at", "closed_at"),
}
METHODS = {"postgresql": ("copy", "executemany"), "sqlite": ("executemany",)}


def expected_followups(clients):
    """``(total, still open)`` follow-ups after every visit is applied in push order."""
    total = still_open = 0
    for client in clients:
        promised = {}  # household id -> visited_at of the visits whose follow-up is open
        for item in client.visits:
            data = item["data"]
            at = datetime.fromisoformat(data["visited_at"])
            if data["outcome"] in REACHED:
                promised[data["household_id"]] = _earlier_kept(
                    promised.get(data["household_id"], []), at, lambda p: p)
            if data["follow_up_on"]:
                total += 1
                promised.setdefault(data["household_id"], []).append(at)
        still_open += sum(len(p) for p in promised.values())
    return total, still_open


def _earlier_kept(promises, at, moment_of, close=None):
    """A reaching visit at ``at`` settles follow-ups promised strictly before it (as the push
    does); returns those still open, calling ``close`` on each settled one."""
    kept = []
    for promise in promises:
        if moment_of(promise) < at:
            if close:
                close(promise)
        else:
            kept.append(promise)
    return kept


class RowBuilder:
    """Turns push items into table rows for one dialect; ``tag`` makes this copy's ids new."""

    def __init__(self, dialect, tag, member_ids, device_ids):
        self.sqlite = dialect == "sqlite"
        self.tag = tag
        self.member_ids = member_ids  # client index -> user id
        self.device_ids = device_ids  # client index -> device id
        self.now = datetime.now(timezone.utc)
        self.seq = 10**9  # change_seq: any increasing numbers do for a baseline

    def new_id(self, old):
        value = uuid.uuid5(BASELINE_NAMESPACE, f"{self.tag}:{old}")
        return value.hex if self.sqlite else value

    def moment(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        value = value.astimezone(timezone.utc)
        # SQLAlchemy keeps naive UTC text on SQLite; psycopg takes aware datetimes.
        return value.replace(tzinfo=None).isoformat(sep=" ") if self.sqlite else value

    def flag(self, value):
        return int(value) if self.sqlite else value

    def next_seq(self):
        self.seq += 1
        return self.seq

    def build(self, clients):
        """Every table's rows, parents first."""
        rows = {table: [] for table in COLUMNS}
        now = self.moment(self.now)
        for client in clients:
            member = self.member_ids[client.index]
            hamlet_of = {}
            for item in client.households:
                data = item["data"]
                hamlet_of[item["id"]] = data["hamlet_id"]
                rows["households"].append((
                    self.new_id(item["id"]), data["hamlet_id"], data["address"],
                    data["head_name"], data["members_count"], data["adults_count"],
                    _e164(data["phone"]), _ewkt(data["location"]),
                    data["location"]["accuracy_m"], 1, _digest(data), self.flag(False),
                    self.next_seq(), member, now, now))
            for item in client.residents:
                data = item["data"]
                consent = data["consent"]
                rows["residents"].append((
                    self.new_id(item["id"]), self.new_id(data["household_id"]),
                    hamlet_of[data["household_id"]], data["full_name"], data["birth_year"],
                    data["sex"], _e164(data["phone"]), self.flag(consent["given"]),
                    json.dumps(sorted(set(consent["purposes"]))), self.moment(consent["at"]),
                    self.flag(False), 1, _digest(data), self.flag(False), self.next_seq(),
                    member, now, now))
            self._visits(client, member, hamlet_of, rows, now)
        return rows

    def _visits(self, client, member, hamlet_of, rows, now):
        open_followups = {}  # household id -> [(visited_at, index of the open follow-up row)]
        for item in client.visits:
            data = item["data"]
            visit_id, household_id = self.new_id(item["id"]), data["household_id"]
            hamlet_id = hamlet_of[household_id]
            visited_at = datetime.fromisoformat(data["visited_at"])
            visited_on = (visited_at.astimezone(timezone.utc) + LOCAL_OFFSET).date()
            location = data["location"]
            rows["visits"].append((
                visit_id, self.new_id(household_id), hamlet_id, member,
                self.device_ids[client.index], self.moment(visited_at), self._day(visited_on),
                _ewkt(location), location["accuracy_m"], data["outcome"], data["notes"],
                data["follow_up_on"], _digest(data), "received", 1, now))
            for line in data["services"]:
                rows["visit_services"].append((
                    visit_id, line["code"],
                    self.new_id(line["resident_id"]) if line["resident_id"] else None,
                    line["result"], line["provider"], line["detail"]))
            if data["outcome"] in REACHED:
                open_followups[household_id] = _earlier_kept(
                    open_followups.get(household_id, []), visited_at, lambda p: p[0],
                    lambda p: self._close(rows["followups"], p[1], now))
            if data["follow_up_on"]:
                followup_id = uuid.uuid5(FOLLOWUP_NAMESPACE, str(visit_id))
                open_followups.setdefault(household_id, []).append(
                    (visited_at, len(rows["followups"])))
                rows["followups"].append((
                    followup_id.hex if self.sqlite else followup_id, visit_id,
                    self.new_id(household_id), hamlet_id, data["follow_up_on"], "open",
                    data["notes"][:255], self.next_seq(), now, None))

    def _close(self, followups, index, now):
        row = list(followups[index])
        row[5], row[7], row[9] = "done", self.next_seq(), now
        followups[index] = tuple(row)

    def _day(self, value):
        return value.isoformat() if self.sqlite else value


def _e164(phone):
    return None if phone is None else "+84" + phone[1:]


def _ewkt(location):
    return f"SRID=4326;POINT({location['lon']} {location['lat']})"


def _digest(data):
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _insert_sql(table, placeholder, geometry):
    columns = COLUMNS[table]
    values = [f"{geometry}({placeholder})" if c == "location" else placeholder for c in columns]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"


def write(raw_conn, dialect, method, rows):
    """Insert ``rows`` in one transaction; returns the seconds it took, commit included."""
    started = time.perf_counter()
    if dialect == "sqlite":
        cur = raw_conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        for table, table_rows in rows.items():
            cur.executemany(_insert_sql(table, "?", "GeomFromEWKT"), table_rows)
        cur.execute("COMMIT")
    else:
        with raw_conn.cursor() as cur:
            for table, table_rows in rows.items():
                if method == "copy":
                    # PostGIS parses EWKT text in COPY, so points need no function call.
                    with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                        for row in table_rows:
                            copy.write_row(row)
                else:
                    cur.executemany(_insert_sql(table, "%s", "ST_GeomFromEWKT"), table_rows)
        raw_conn.commit()
    return time.perf_counter() - started


def run(engine, method, tag, clients, member_ids, device_ids):
    """Build and write one baseline copy; returns ``(build seconds, write seconds)``."""
    dialect = engine.dialect.name
    started = time.perf_counter()
    rows = RowBuilder(dialect, tag, member_ids, device_ids).build(clients)
    built = time.perf_counter() - started
    fairy = engine.raw_connection()
    try:
        written = write(fairy.driver_connection, dialect, method, rows)
    finally:
        fairy.close()
    return built, written
