"""Coverage at province scale: the endpoint at 1× and 10× visits, rebuild time, and the cost of
the incremental refresh (the commune's drains) against the pushes that queue them.

Builds Đồng Nai (95 real commune boundaries, 30 synthetic hamlets each, ~1M households, ~4M
residents, 0.5M visits, then 5M) in a throwaway PostgreSQL database with COPY, runs
``aggregates.rebuild()``, and prints, each against a baseline taken in the same run:

1. ``GET /api/v1/coverage`` p50/p95 for one commune (month, campaign, arbitrary range) at 1× and
   10× visits, and p95(10×)/p95(1×);
2. ``aggregates rebuild`` time at each size;
3. drain time ÷ push time while ingesting fresh visits (a burst: one drain for many pushes; and
   a drain after each push), and whether the incremental rows equal a fresh rebuild;
4. the office console's visit list (``GET /office/visits``, signed in as the commune's officer
   through the CSRF-protected sign-in form): first page, keyset second page, filtered pages,
   p50/p95 at 1× and 10× and p95(10×)/p95(1×), each page checked against a direct query.

    .venv/bin/python bench/coverage.py --small          # seconds; what the suite runs
    .venv/bin/python bench/coverage.py --scale 0.1      # 100k households, 50k → 500k visits
    .venv/bin/python bench/coverage.py --communes 10    # real hamlet density, 10 communes
    .venv/bin/python bench/coverage.py                  # the full province

Exit status 1 means a correctness check failed; timings are reported, never failed. See
bench/README.md.
"""
import argparse
import cProfile
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import psycopg  # noqa: E402

import coverage_checks as checks  # noqa: E402
import coverage_data as data  # noqa: E402
from coverage_data import Statements  # noqa: E402
from coverage_office import office_sign_in, visit_list  # noqa: E402
from coverage_report import percentile, report  # noqa: E402

MONTH = {"from": "2025-10-01", "to": "2025-10-31"}
RANGE = {"from": "2025-10-05", "to": "2025-10-20"}
perf = time.perf_counter


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0,
                   help="1.0: 1M households, 0.5M visits at 1× and 5M at 10×")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--database-url", default="postgresql://postgres:postgres@127.0.0.1:5432/"
                   "postgres", help="PostgreSQL server; the database cnscd_cov_<pid> is made on it")
    p.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    p.add_argument("--requests", type=int, default=100, help="timed requests per measurement")
    p.add_argument("--communes", type=int, default=95, help="communes built (26425 always)")
    p.add_argument("--pushes", type=int, default=10, help="pushes of fresh visits")
    p.add_argument("--push-visits", type=int, default=50, help="visits per push (a day's work)")
    p.add_argument("--profile", metavar="FILE", help="cProfile the 10× burst drain into FILE")
    p.add_argument("--small", action="store_true",
                   help="seconds-long: 4 communes, scale 0.02, 5 requests, 2 pushes of 10")
    args = p.parse_args(argv)
    if args.small:
        args.communes, args.scale, args.requests = 4, 0.02, 5
        args.pushes, args.push_visits = 2, 10
    return args


def say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def login(client, username, device):
    resp = client.post("/api/v1/auth/token", json={"username": username,
                                                   "password": data.PASSWORD,
                                                   "device_id": device})
    if resp.status_code != 201:
        raise SystemExit(f"login {username}: {resp.status_code} {resp.get_data(as_text=True)}")
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def endpoint(ctx, label, failures):
    """Time every period for the focus commune (requests interleaved, so load spikes hit all
    alike); then SQL per request by statement; check the answers against direct counts."""
    from server.extensions import db

    client, headers, requests = ctx["client"], ctx["officer"], ctx["args"].requests
    queries = {p: {"commune": data.FOCUS, **q} for p, q in ctx["periods"].items()}
    get = lambda q: client.get("/api/v1/coverage", query_string=q, headers=headers)  # noqa
    times, answers = {p: [] for p in queries}, {}
    for round_ in range(requests + 3):  # the first 3: warm-up (pool, plans, page cache)
        for period, query in queries.items():
            started = perf()
            resp = get(query)
            if round_ >= 3:
                times[period].append(perf() - started)
            answers[period] = resp
    results = {}
    for period, query in queries.items():
        resp = answers[period]
        if resp.status_code != 200:
            failures.append(f"{label} {period}: HTTP {resp.status_code}")
            continue
        per = max(3, requests // 5)
        with ctx["app"].app_context(), Statements(db.engine) as stats:
            for _ in range(per):
                get(query)
        body = resp.get_json()
        first, last = (date.fromisoformat(body["period"][k]) for k in ("from", "to"))
        with psycopg.connect(ctx["url"]) as conn:
            want = checks.direct_figures(conn, ctx["commune_id"], first, last)
        got = checks.endpoint_figures(body)
        if got != want:
            failures.append(f"{label} {period}: endpoint {got} != counted from visits {want}")
        results[period] = {"p50": statistics.median(times[period]),
                           "p95": percentile(times[period], 0.95),
                           "sql": dict(stats.top(per, count=len(stats.totals))), "figures": got}
    results["load"] = os.getloadavg()[0]
    return results


def rebuild(ctx):
    """``aggregates.rebuild()`` of the whole province, timed; then VACUUM ANALYZE (untimed)."""
    from server.extensions import db
    from server.services import aggregates

    with ctx["app"].app_context():
        started = perf()
        aggregates.rebuild()
        seconds = perf() - started
        db.session.remove()
    with psycopg.connect(ctx["url"], autocommit=True) as conn:
        for table in checks.COVERAGE_TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        rows = sum(checks.count_rows(conn, checks.COVERAGE_TABLES).values())
        source = checks.count_rows(conn, ("visits", "visit_services"))
    return {"seconds": seconds, "rows": rows, **source}


def _timed_drains(ctx, drains):
    """Run the queued drains in-process (``queue.enqueue`` without ``REDIS_URL``), timed."""
    from server.extensions import db
    from server.services import coverage_queue, queue

    times = []
    with ctx["app"].app_context():
        for _ in drains:
            started = perf()
            queue.enqueue(coverage_queue.DRAIN_JOB, queue="aggregates")
            times.append(perf() - started)
            db.session.remove()
    return times


def incremental(ctx, size, failures):
    """Ingest fresh visits two ways, timed: a burst (``--pushes`` pushes with their drains held
    back, as a busy worker sees them; then the drains the queue holds, one per commune) and one
    drain after each push (a worker keeping up). Then compare the commune's coverage rows with a
    fresh rebuild of it."""
    from server.extensions import db
    from server.services import aggregates, coverage_queue

    args, client, commune_id = ctx["args"], ctx["client"], ctx["commune_id"]
    with psycopg.connect(ctx["url"]) as conn:
        hamlet_id, code = conn.execute(
            "SELECT m.id, m.code FROM hamlets m JOIN households h ON h.hamlet_id = m.id "
            "WHERE m.commune_id = %s AND NOT h.deleted GROUP BY m.id ORDER BY count(*) DESC, "
            "m.id LIMIT 1", [commune_id]).fetchone()
        people = {}
        for hid, rid, year in conn.execute(
                "SELECT h.id, r.id, r.birth_year FROM households h JOIN residents r "
                "ON r.household_id = h.id WHERE h.hamlet_id = %s AND NOT h.deleted "
                "AND NOT r.deleted ORDER BY h.id, r.id", [hamlet_id]):
            people.setdefault(str(hid), []).append((str(rid), year, None))
        november = "SELECT coalesce(sum(visits), 0) FROM hamlet_months WHERE hamlet_id = %s " \
                   "AND month = '2025-11-01'"
        before = conn.execute(november, [hamlet_id]).fetchone()[0]
    rng = random.Random(f"{args.seed}:push:{size}")
    households = sorted(people.items())
    bodies = [json.dumps({"device_id": "bench-push", "items": data.push_items(
        rng, households, args.push_visits)}) for _ in range(2 * args.pushes)]
    headers = login(client, f"to.{code}", "bench-push")
    statuses = {}

    def push(body):
        started = perf()
        resp = client.post("/api/v1/sync/push", data=body, headers=headers,
                           content_type="application/json")
        for result in (resp.get_json() or {}).get("results", [{"status": resp.status_code}]):
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
        return perf() - started

    import jobs.aggregates  # noqa: F401 - imported once, as a worker has it before any job
    import rq  # noqa: F401 - job_log looks up the current rq job

    scheduled, original = [], coverage_queue.schedule
    # What the pushes would queue, held back.
    coverage_queue.schedule = lambda: scheduled.append("drain")
    try:
        burst_push = [push(body) for body in bodies[:args.pushes]]
    finally:
        coverage_queue.schedule = original
    # With Redis the first schedule sets the marker and the rest find it: one drain.
    queued = list(dict.fromkeys(scheduled))
    profiler = cProfile.Profile() if args.profile and size == "10×" else None
    with ctx["app"].app_context(), Statements(db.engine) as stats:
        if profiler:
            profiler.enable()
        burst_drains = _timed_drains(ctx, queued)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
    each_push, each_drain = [], []
    for body in bodies[args.pushes:]:
        scheduled.clear()
        coverage_queue.schedule = lambda: scheduled.append("drain")
        try:
            each_push.append(push(body))
        finally:
            coverage_queue.schedule = original
        each_drain += _timed_drains(ctx, scheduled)
    pushed = 2 * args.pushes * args.push_visits
    if statuses != {"created": pushed}:
        failures.append(f"{size} push statuses {statuses}, expected {pushed} created")
    if len(scheduled) != 1 or len(queued) != 1 or len(each_drain) != args.pushes:
        failures.append(f"{size}: drains queued {len(queued)} for a burst of {args.pushes} "
                        f"pushes, {len(each_drain)} after each of {args.pushes}")
    with psycopg.connect(ctx["url"]) as conn:
        after = conn.execute(november, [hamlet_id]).fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM coverage_pending").fetchone()[0]
        incremental_rows = checks.coverage_rows(conn, commune_id)
    if after - before != pushed or pending:
        failures.append(f"{size}: hamlet {code} November visits {before} → {after}, "
                        f"pushed {pushed}; {pending} records still pending")
    with ctx["app"].app_context():
        started = perf()
        aggregates.rebuild(data.FOCUS)
        commune_rebuild = perf() - started
        db.session.remove()
    with psycopg.connect(ctx["url"]) as conn:
        rebuilt_rows = checks.coverage_rows(conn, commune_id)
    for table, rows in rebuilt_rows.items():
        if rows != incremental_rows[table]:
            extra = len(set(incremental_rows[table]) - set(rows))
            missing = len(set(rows) - set(incremental_rows[table]))
            failures.append(f"{size} incremental {table}: {extra} rows not in the rebuild, "
                            f"{missing} rebuild rows missing ({len(rows):,} rows)")
    return {"hamlet": code, "households": len(households),
            "burst": {"push": burst_push, "jobs": burst_drains},
            "each": {"push": each_push, "jobs": each_drain},
            "sql": stats.top(1), "sql_total": sum(stats.totals.values()),
            "commune_rebuild": commune_rebuild,
            "compared": sum(len(r) for r in rebuilt_rows.values())}


def main(argv=None):
    args = parse_args(argv)
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db
    from server.services.accounts import hash_password

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the database
    store, failures, sizes = data.Throwaway(args.database_url), [], {}
    began = perf()
    media = tempfile.mkdtemp(prefix="cnscd_cov_media_")
    try:
        store.create()
        app = create_app({
            "SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": store.url,
            "MEDIA_DIR": media, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
            "PHOTO_SWEEP_IN_WEB": False, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192})
        with app.app_context():
            upgrade()
            password_hash = hash_password(data.PASSWORD)
            version = ".".join(map(str, db.engine.dialect.server_version_info or ()))
            campaign = db.session.execute(db.text(
                "SELECT id, date_from, date_to FROM campaigns WHERE date_from = '2025-10-01'"
            )).one()
            db.session.remove()
        connect = lambda: psycopg.connect(store.url)  # noqa: E731
        started = perf()
        province = data.plan_province(args.seed, args.scale, args.communes)
        say(f"planned {len(province.communes)} communes, {len(province.hamlets)} hamlets in "
            f"{perf() - started:.1f}s; loading people and 1× visits")
        started = perf()
        with connect() as conn:
            data.write_units(conn, province, password_hash, len(province.hamlets) + 1)
        with data.bulk(connect):
            households, residents = data.write_people(connect, args.seed, province)
            data.write_visits(connect, args.seed, province, "base", 1)
        load = perf() - started
        ctx = {"args": args, "app": app, "url": store.url, "client": app.test_client(),
               "commune_id": province.focus[0],
               "periods": {"month": MONTH, "campaign": {"campaign": campaign.id},
                           "range": RANGE},
               "labels": {"month": f"month {MONTH['from']}..{MONTH['to']}",
                          "campaign": f"campaign {campaign.date_from}..{campaign.date_to}",
                          "range": f"range {RANGE['from']}..{RANGE['to']}"}}
        ctx["officer"] = login(ctx["client"], f"cb.{data.FOCUS}", "bench-office")
        ctx["office"] = office_sign_in(app, f"cb.{data.FOCUS}")
        with connect() as conn:  # the filtered list page's hamlet: the most completed visits
            ctx["list_hamlet"] = conn.execute(
                "SELECT m.id, m.code FROM hamlets m JOIN visits v ON v.hamlet_id = m.id "
                "WHERE m.commune_id = %s AND v.outcome = 'completed' GROUP BY m.id "
                "ORDER BY count(*) DESC, m.id LIMIT 1", [ctx["commune_id"]]).fetchone()
        for size, factor in (("1×", 0), ("10×", 9)):
            if factor:
                say("loading the 10× visits")
                started = perf()
                with data.bulk(connect, ("visits", "visit_services")):
                    data.write_visits(connect, args.seed, province, "extra", factor)
                load = perf() - started
            say(f"{size}: rebuilding the coverage rows")
            sizes[size] = {"load": load, "rebuild": rebuild(ctx)}
            say(f"{size}: timing the endpoint ({sizes[size]['rebuild']['seconds']:.1f}s rebuild)")
            sizes[size]["endpoint"] = endpoint(ctx, size, failures)
            say(f"{size}: timing the office visit list")
            sizes[size]["visits"] = visit_list(ctx, size, failures)
            say(f"{size}: pushing fresh visits and running their drains")
            sizes[size]["incremental"] = incremental(ctx, size, failures)
        print(f"Coverage at province scale — PostgreSQL {version}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Flask test client, "
              f"jobs in-process (no Redis)")
        print(f"province: {len(province.communes)} communes, {len(province.hamlets):,} hamlets, "
              f"{households:,} households, {residents:,} residents (seed {args.seed}, scale "
              f"{args.scale}); timed commune {data.FOCUS} {province.focus[2]}: "
              f"{sum(h.households for h in province.hamlets_of(ctx['commune_id'])):,} households")
        report(ctx, sizes, failures)
        print(f"run time: {(perf() - began) / 60:.1f} min")
    finally:
        store.drop(keep=args.keep_db)
        shutil.rmtree(media, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
