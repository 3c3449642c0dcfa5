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
import html
import json
import os
import random
import re
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

import coverage_data as data  # noqa: E402
from coverage_data import Statements  # noqa: E402

PASSWORD = "bench-password-42"
AIM_ENDPOINT, AIM_JOBS = 1.2, 0.25
AIM_LIST = 1.5  # the office console's visit list: p95(10×)/p95(1×)
MONTH = {"from": "2025-10-01", "to": "2025-10-31"}
RANGE = {"from": "2025-10-05", "to": "2025-10-20"}
LIST_DAYS = ("2025-09-01", "2025-09-30")  # the visit list's "Từ ngày/Đến ngày" filter, timed
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


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def login(client, username, device):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD,
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
            want = data.direct_figures(conn, ctx["commune_id"], first, last)
        got = data.endpoint_figures(body)
        if got != want:
            failures.append(f"{label} {period}: endpoint {got} != counted from visits {want}")
        results[period] = {"p50": statistics.median(times[period]),
                           "p95": percentile(times[period], 0.95),
                           "sql": dict(stats.top(per, count=len(stats.totals))), "figures": got}
    results["load"] = os.getloadavg()[0]
    return results


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_VISIT_LINK = re.compile(r'href="/office/visits/([0-9a-f-]{36})"')
_NEXT_LINK = re.compile(r'<a href="([^"]+)">Trang sau')


def office_sign_in(app, username):
    """A test client signed in to the office console as a browser is: the sign-in page's CSRF
    token posted back with the credentials; the session cookie stays in the client."""
    client = app.test_client()
    page = client.get("/office/login")
    token = _CSRF.search(page.get_data(as_text=True))
    if page.status_code != 200 or not token:
        raise SystemExit(f"/office/login: {page.status_code}, no CSRF token" if not token
                         else f"/office/login: {page.status_code}")
    resp = client.post("/office/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token.group(1), "next": ""})
    if resp.status_code != 302:
        raise SystemExit(f"office sign-in {username}: {resp.status_code}")
    return client


def list_pages(ctx, first_body):
    """``{page: (url, SQL condition on v, its parameters, offset)}`` of the timed list pages;
    the second page's URL is the first page's "Trang sau" link (keyset ``after=``)."""
    from server.services.review import PAGE_SIZE

    hamlet_id = ctx["list_hamlet"][0]
    found = _NEXT_LINK.search(first_body)
    pages = {"first": ("/office/visits", "", (), 0)}
    if found:
        pages["second"] = (html.unescape(found.group(1)), "", (), PAGE_SIZE)
    pages["hamlet"] = (f"/office/visits?hamlet={hamlet_id}&outcome=completed",
                       "AND v.hamlet_id = %s AND v.outcome = 'completed'", (hamlet_id,), 0)
    pages["state"] = ("/office/visits?review_state=received",
                      "AND v.review_state = 'received'", (), 0)
    first, last = LIST_DAYS
    pages["days"] = (f"/office/visits?first={first}&last={last}",
                     "AND v.visited_on BETWEEN %s AND %s", LIST_DAYS, 0)
    return pages


def visit_list(ctx, label, failures):
    """Time the office console's visit list pages as the commune officer (requests interleaved,
    3 warm-up rounds); then SQL per request by statement; check each page lists exactly the
    visits a direct query puts there."""
    from server.extensions import db
    from server.services.review import PAGE_SIZE

    client, requests = ctx["office"], ctx["args"].requests
    first = client.get("/office/visits")
    pages = list_pages(ctx, first.get_data(as_text=True))
    if "second" not in pages:
        failures.append(f"{label} visit list: no next-page link on the first page "
                        f"(HTTP {first.status_code})")
    times, answers = {p: [] for p in pages}, {}
    for round_ in range(requests + 3):
        for page, (url, *_) in pages.items():
            started = perf()
            resp = client.get(url)
            if round_ >= 3:
                times[page].append(perf() - started)
            answers[page] = resp
    with ctx["app"].app_context():
        engine = db.engine
    results = {}
    with psycopg.connect(ctx["url"]) as conn:
        total = conn.execute("SELECT count(*) FROM visits v JOIN hamlets m ON m.id = v.hamlet_id "
                             "WHERE m.commune_id = %s", [ctx["commune_id"]]).fetchone()[0]
        for page, (url, where, params, offset) in pages.items():
            resp = answers[page]
            listed = _VISIT_LINK.findall(resp.get_data(as_text=True))
            want = data.newest_visits(conn, ctx["commune_id"], where, params, offset, PAGE_SIZE)
            if resp.status_code != 200 or not listed:
                failures.append(f"{label} visit list {page} ({url}): HTTP {resp.status_code}, "
                                f"{len(listed)} visits listed")
                continue
            if listed != want:
                failures.append(f"{label} visit list {page} ({url}): {len(listed)} visits listed, "
                                f"{len(set(listed) - set(want))} not among the {len(want)} "
                                f"expected, or in another order")
            per = max(3, requests // 5)
            with Statements(engine) as stats:  # no app context held: each request its own
                for _ in range(per):
                    client.get(url)
            results[page] = {"p50": statistics.median(times[page]),
                             "p95": percentile(times[page], 0.95), "listed": len(listed),
                             "sql": dict(stats.top(per, count=len(stats.totals))), "url": url}
    results["load"], results["visits"] = os.getloadavg()[0], total
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
        for table in data.COVERAGE_TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        rows = sum(data.count_rows(conn, data.COVERAGE_TABLES).values())
        source = data.count_rows(conn, ("visits", "visit_services"))
    return {"seconds": seconds, "rows": rows, **source}


def _timed_drains(ctx, communes):
    """Run a drain per commune in-process (``queue.enqueue`` without ``REDIS_URL``), timed."""
    from server.extensions import db
    from server.services import coverage_queue, queue

    times = []
    with ctx["app"].app_context():
        for commune_id in communes:
            started = perf()
            queue.enqueue(coverage_queue.DRAIN_JOB, commune_id, queue="aggregates")
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
    coverage_queue.schedule = scheduled.append  # what the push would queue, held back
    try:
        burst_push = [push(body) for body in bodies[:args.pushes]]
    finally:
        coverage_queue.schedule = original
    # With Redis the first schedule sets the commune's marker and the rest find it: one drain.
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
        coverage_queue.schedule = scheduled.append
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
        incremental_rows = data.coverage_rows(conn, commune_id)
    if after - before != pushed or pending:
        failures.append(f"{size}: hamlet {code} November visits {before} → {after}, "
                        f"pushed {pushed}; {pending} records still pending")
    with ctx["app"].app_context():
        started = perf()
        aggregates.rebuild(data.FOCUS)
        commune_rebuild = perf() - started
        db.session.remove()
    with psycopg.connect(ctx["url"]) as conn:
        rebuilt_rows = data.coverage_rows(conn, commune_id)
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


def ms(seconds):
    return f"{seconds * 1000:8.1f}"


def report(ctx, sizes, failures):
    args = ctx["args"]
    one, ten = sizes["1×"]["endpoint"], sizes["10×"]["endpoint"]
    print(f"\n## 1. coverage endpoint: GET /api/v1/coverage?commune={data.FOCUS} as its officer, "
          f"{args.requests} requests per line (interleaved), ms; load average "
          f"{one['load']:.1f} at 1×, {ten['load']:.1f} at 10×")
    print(f"{'period':<34}{'1× p50':>9}{'1× p95':>9}{'10× p50':>9}{'10× p95':>9}  p95 10×/1×")
    for period, shown in ctx["labels"].items():
        a, b = one.get(period), ten.get(period)
        if not a or not b:
            continue
        ratio = b["p95"] / a["p95"]
        aim = ("reported (reads per-day rows)" if period == "range" else
               f"{'meets' if ratio <= AIM_ENDPOINT else 'ABOVE'} the ≤ {AIM_ENDPOINT} aim")
        print(f"{shown:<34}{ms(a['p50']):>9}{ms(a['p95']):>9}{ms(b['p50']):>9}{ms(b['p95']):>9}"
              f"  {ratio:5.2f}  {aim}")
        grown = sorted(b["sql"].items(), key=lambda kv: -kv[1])[:3]
        print("    SQL ms per request, 1× → 10×: " + "; ".join(
            f"{k} {a['sql'].get(k, 0) * 1000:.1f} → {v * 1000:.1f}" for k, v in grown))
    if "month" in ten:
        print(f"figures at 10× ({ctx['labels']['month']}): {ten['month']['figures']}")

    print("\n## 2. aggregates rebuild (whole province, one transaction)")
    print(f"{'size':<6}{'visits':>12}{'lines':>12}{'seconds':>10}{'visits/s':>10}"
          f"{'cov. rows':>12}{'rows/s':>10}{'   data load s':>14}")
    for size, s in sizes.items():
        r = s["rebuild"]
        print(f"{size:<6}{r['visits']:>12,}{r['visit_services']:>12,}{r['seconds']:>10.1f}"
              f"{r['visits'] / r['seconds']:>10,.0f}{r['rows']:>12,}"
              f"{r['rows'] / r['seconds']:>10,.0f}{s['load']:>14.1f}")

    inc = sizes["1×"]["incremental"]
    print(f"\n## 3. incremental refresh while ingesting: {args.pushes} pushes × "
          f"{args.push_visits} fresh visits by the member of hamlet {inc['hamlet']} "
          f"({inc['households']} households), twice: a burst (drains held back during the pushes, "
          f"then the drains the queue holds) and one drain after each push")
    print(f"{'size':<5}{'ingest':<8}{'push s':>8}{'ms p50':>8}{'drains':>7}{'drain s':>9}"
          f"{'ms p50':>8}{'ms p95':>8}  drain/push")
    for size, s in sizes.items():
        inc = s["incremental"]
        for mode, label in (("burst", "burst"), ("each", "each")):
            run = inc[mode]
            share = sum(run["jobs"]) / sum(run["push"])
            print(f"{size:<5}{label:<8}{sum(run['push']):>8.2f}{ms(statistics.median(run['push'])):>8}"
                  f"{len(run['jobs']):>7}{sum(run['jobs']):>9.2f}"
                  f"{ms(statistics.median(run['jobs'])):>8}{ms(percentile(run['jobs'], 0.95)):>8}"
                  f"  {share:7.1%}  {'meets' if share <= AIM_JOBS else 'ABOVE'} the ≤ "
                  f"{AIM_JOBS:.0%} aim")
        print(f"    burst drain SQL {inc['sql_total'] * 1000:.1f} ms, largest: "
              + "; ".join(f"{k} {v * 1000:.1f}" for k, v in inc["sql"])
              + f"; then commune rebuild {inc['commune_rebuild']:.2f}s, "
              f"{inc['compared']:,} rows compared")
    report_list(ctx, sizes)
    print("\nchecks: " + ("all passed (endpoint figures = counts from the visits at 1× and 10×, "
                          "push statuses, drains ran and left nothing pending, incremental rows = fresh "
                          "rebuild, "
                          "visit list pages = the visits a direct query lists)"
                          if not failures else "FAILED"))
    for failure in failures:
        print(f"  - {failure}")


def report_list(ctx, sizes):
    args = ctx["args"]
    one, ten = sizes["1×"]["visits"], sizes["10×"]["visits"]
    hamlet_id, code = ctx["list_hamlet"]
    shown = {"first": "first page (no filter)", "second": "second page (after= of the first)",
             "hamlet": f"hamlet {code}, completed", "state": "review state received",
             "days": "days {}..{}".format(*LIST_DAYS)}
    print(f"\n## 4. office visit list: GET /office/visits signed in as cb.{data.FOCUS} (session "
          f"cookie), {args.requests} requests per line (interleaved), ms; the commune's visits "
          f"{one['visits']:,} at 1×, {ten['visits']:,} at 10×; load average {one['load']:.1f} at "
          f"1×, {ten['load']:.1f} at 10×")
    print(f"{'page':<34}{'1× p50':>9}{'1× p95':>9}{'10× p50':>9}{'10× p95':>9}  p95 10×/1×")
    for page, label in shown.items():
        a, b = one.get(page), ten.get(page)
        if not a or not b:
            continue
        ratio = b["p95"] / a["p95"]
        print(f"{label:<34}{ms(a['p50']):>9}{ms(a['p95']):>9}{ms(b['p50']):>9}{ms(b['p95']):>9}"
              f"  {ratio:5.2f}  {'meets' if ratio <= AIM_LIST else 'ABOVE'} the ≤ {AIM_LIST} aim")
        grown = sorted(b["sql"].items(), key=lambda kv: -kv[1])[:3]
        print("    SQL ms per request, 1× → 10×: " + "; ".join(
            f"{k} {a['sql'].get(k, 0) * 1000:.1f} → {v * 1000:.1f}" for k, v in grown))


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
            password_hash = hash_password(PASSWORD)
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
