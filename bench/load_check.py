"""Checks of the campaign peak bench: the jobs have settled, every acknowledged record is stored
exactly once (seen through the database and through the API, as its phone), photos are
processed, and the incrementally maintained coverage rows equal ``flask aggregates rebuild``."""
import http.client
import json
import time
from collections import Counter

import psycopg

from coverage_checks import coverage_rows

QUEUES = ("photos", "aggregates", "default")


def plain(url):
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def backlog(conn, redis):
    """What is still to do: coverage records pending, photos unprocessed, jobs queued/running."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    pending = conn.execute("SELECT count(*) FROM coverage_pending").fetchone()[0]
    photos = conn.execute(
        "SELECT count(*) FROM photos WHERE state NOT IN ('ready', 'rejected')").fetchone()[0]
    jobs = 0
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        jobs += queue.count + StartedJobRegistry(queue=queue).count
    return {"coverage_pending": pending, "photos_unprocessed": photos, "jobs": jobs}


def settle(url, redis, deadline, poll=0.25):
    """Wait until nothing is left to do (or the deadline); returns (settled, last backlog)."""
    with psycopg.connect(plain(url), autocommit=True) as conn:
        while True:
            left = backlog(conn, redis)
            if not any(left.values()):
                return True, left
            if time.monotonic() > deadline:
                return False, left
            time.sleep(poll)


def check_database(url, clients, outcomes, failures):
    """Each table holds exactly the ids the phones made, and every one of them was acknowledged;
    dependent rows (service lines, follow-ups) are there once each."""
    from ingest_check import expected_counts

    made = {"households": set(), "residents": set(), "visits": set()}
    for client in clients:
        for kind in made:
            made[kind].update(item["id"] for item in getattr(client, kind))
    acked = set()
    for out in outcomes:
        acked.update(out.acked)
    everything = set().union(*made.values())
    if acked != everything:
        failures.append(f"acknowledged {len(acked):,} of {len(everything):,} records "
                        f"({len(everything - acked):,} never acknowledged)")
    expected = expected_counts(clients)
    with psycopg.connect(plain(url)) as conn:
        for table, ids in made.items():
            stored = Counter(str(i) for (i,) in conn.execute(f"SELECT id FROM {table}"))
            twice = sum(1 for n in stored.values() if n > 1)
            extra, missing = set(stored) - ids, (ids & acked) - set(stored)
            if twice or extra or missing:
                failures.append(f"{table}: {twice} stored twice, {len(extra)} not made by a "
                                f"phone, {len(missing)} acknowledged but missing")
        for table, query in (("visit_services", "SELECT count(*) FROM visit_services"),
                             ("followups", "SELECT count(*) FROM followups"),
                             ("followups_open",
                              "SELECT count(*) FROM followups WHERE status = 'open'")):
            count = conn.execute(query).fetchone()[0]
            if count != expected[table]:
                failures.append(f"{table}: stored {count:,}, expected {expected[table]:,}")
        photos = {str(i): state for i, state in conn.execute("SELECT id, state FROM photos")}
    uploaded = {photo for out in outcomes for _, photo in out.photos}
    if set(photos) != uploaded or set(photos.values()) - {"ready"}:
        failures.append(f"photos: {len(uploaded)} acknowledged, stored "
                        f"{dict(Counter(photos.values()))}, "
                        f"{len(uploaded - set(photos))} missing")
    return expected, len(uploaded)


class Api:
    """A phone's view of the server after the campaign (its token, one connection)."""

    def __init__(self, host, port, token):
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path):
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        kind = resp.getheader("Content-Type", "")
        return resp.status, json.loads(data) if kind.startswith("application/json") else data

    def close(self):
        self.conn.close()


def check_api(host, port, phones, failures):
    """Each phone pulls its hamlets and lists its households' visits: every record it saw
    acknowledged comes back exactly once; its photo is served processed. Returns phones seen."""
    for phone in phones:
        api = Api(host, port, phone.token)
        try:
            _check_phone(api, phone, failures)
        finally:
            api.close()
        if len(failures) > 20:
            break
    return len(phones)


def _check_phone(api, phone, failures):
    client, acked = phone.client, phone.out.acked
    who = client.username
    seen, cursor = Counter(), None
    for _ in range(10_000):
        code, page = api.get("/api/v1/sync/pull?limit=1000" + (f"&cursor={cursor}" if cursor
                                                                else ""))
        if code != 200:
            failures.append(f"{who}: pull answered {code}")
            return
        seen.update(c["id"] for c in page["changes"]
                    if c["type"] in ("household", "resident") and not c["deleted"])
        cursor = page["cursor"]
        if not page["more"]:
            break
    for kind in ("households", "residents"):
        ids = {item["id"] for item in getattr(client, kind) if item["id"] in acked}
        wrong = {i: seen[i] for i in ids if seen[i] != 1}
        if wrong:
            failures.append(f"{who}: pull shows {len(wrong)} acknowledged {kind} other than "
                            f"once, e.g. {next(iter(wrong.items()))}")
    visits = Counter()
    photos = {}
    for household in {v["data"]["household_id"] for v in client.visits}:
        code, body = api.get(f"/api/v1/visits?household_id={household}")
        if code != 200:
            failures.append(f"{who}: visits of {household} answered {code}")
            continue
        for visit in body["visits"]:
            visits[visit["id"]] += 1
            photos.update({p["id"]: p["state"] for p in visit.get("photos", [])})
    ids = {item["id"] for item in client.visits if item["id"] in acked}
    wrong = {i: visits[i] for i in ids if visits[i] != 1}
    if wrong or set(visits) - ids:
        failures.append(f"{who}: visits listed other than once {len(wrong)}, unknown "
                        f"{len(set(visits) - ids)}")
    for visit_id, photo_id in phone.out.photos:
        code, data = api.get(f"/api/v1/visits/{visit_id}/photos/{photo_id}")
        if photos.get(photo_id) != "ready" or code != 200 or data[:2] != b"\xff\xd8":
            failures.append(f"{who}: photo {photo_id} state {photos.get(photo_id)}, GET {code}")


def incremental_rows(url, commune_ids):
    """Every coverage row of the communes, by table (``refreshed_at`` left out)."""
    rows = {}
    with psycopg.connect(plain(url)) as conn:
        for commune_id in commune_ids:
            for table, found in coverage_rows(conn, commune_id).items():
                rows.setdefault(table, []).extend(found)
    return rows


def compare_rows(incremental, rebuilt, failures):
    """The incremental rows must equal the rebuild's, table by table; returns rows compared."""
    for table, rows in rebuilt.items():
        mine = incremental.get(table, [])
        if Counter(rows) != Counter(mine):
            failures.append(f"aggregates {table}: {len(set(mine) - set(rows))} rows not in the "
                            f"rebuild, {len(set(rows) - set(mine))} rebuild rows missing")
    if not rebuilt.get("coverage_subject_days"):
        failures.append("aggregates: the rebuild wrote no coverage_subject_days rows")
    return sum(len(r) for r in rebuilt.values())
