"""Sync push ingest: the real endpoint against a raw bulk insert of the same rows, as a ratio.

Creates a throwaway database (``cnscd_bench_<pid>`` on the PostgreSQL server of
``--database-url``), migrates it, sets up one commune, then pushes households, residents and
visits through ``POST /api/v1/sync/push`` in batches, checks what was stored, and writes the same
rows again with COPY/executemany in one transaction. Prints visits/s of both and the ratio.

    .venv/bin/python bench/sync_ingest.py                 # 50,000 visits, in-process WSGI
    .venv/bin/python bench/sync_ingest.py --http spawn --workers 2
    .venv/bin/python bench/sync_ingest.py --visits 5000 --profile /tmp/push.prof

See bench/README.md.
"""
import argparse
import cProfile
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import ingest_baseline  # noqa: E402
import ingest_check  # noqa: E402
from ingest_data import KINDS, generate  # noqa: E402
from ingest_env import (Http, InProcess, Throwaway, make_clients, make_commune,  # noqa: E402
                        spawn_gunicorn)

AIM = 0.25
PUSH = "/api/v1/sync/push"
DEVICE = "bench-phone"


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--visits", type=int, default=50_000, help="visits pushed in all")
    p.add_argument("--households", type=int, default=0,
                   help="households pushed, about 2 residents each; 0 means visits / 5")
    p.add_argument("--batch", type=int, default=500, help="items per push (server max 500)")
    p.add_argument("--workers", type=int, default=1, help="concurrent pushing clients (phones)")
    p.add_argument("--hamlets", type=int, default=10, help="hamlets of the bench commune")
    p.add_argument("--seed", type=int, default=2025, help="seed of the generated data")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1/postgres",
                   help="PostgreSQL server (a throwaway database is created on it) or "
                        "sqlite:///FILE (a new file, deleted afterwards)")
    p.add_argument("--db-name", help="name of the throwaway PostgreSQL database "
                                     "(must start with cnscd_bench_; default cnscd_bench_<pid>)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/9",
                   help="queue for the aggregate jobs (flushed before and after); 'none' runs "
                        "jobs in-process inside every push")
    p.add_argument("--http", metavar="URL|spawn",
                   help="push over HTTP: 'spawn' starts gunicorn on the throwaway database; a URL "
                        "must be a server already running against --db-name")
    p.add_argument("--server-workers", type=int, default=2, help="gunicorn workers for spawn")
    p.add_argument("--server-threads", type=int, default=4, help="gunicorn threads for spawn")
    p.add_argument("--baselines", default=None,
                   help="comma-separated: copy,executemany (PostgreSQL) or executemany (SQLite)")
    p.add_argument("--replay", type=int, default=5, help="batches of each kind pushed again")
    p.add_argument("--profile", metavar="FILE",
                   help="cProfile the endpoint phases (in-process, 1 worker) into FILE and print "
                        "hot spots and SQL statements per item")
    p.add_argument("--sql-stats", action="store_true",
                   help="count SQL statements per item and the time spent waiting on them "
                        "(in-process only)")
    p.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = p.parse_args(argv)
    args.households = args.households or max(1, args.visits // 5)
    if not 1 <= args.batch <= 500:
        p.error("--batch must be 1..500 (the server's limit)")
    if args.profile and (args.http or args.workers != 1):
        p.error("--profile needs the in-process client and --workers 1")
    if args.sql_stats and args.http:
        p.error("--sql-stats needs the in-process client")
    if args.redis_url.lower() in ("", "none"):
        args.redis_url = None
    args.hamlets = max(args.hamlets, args.workers)
    dialect = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    known = ingest_baseline.METHODS[dialect]
    if args.baselines:
        args.baselines = args.baselines.split(",")
        if set(args.baselines) - set(known):
            p.error(f"--baselines on {dialect}: choose from {', '.join(known)}")
    return args


def app_config(url, redis_url, media_dir):
    """The app's configuration for the bench (like tests/conftest.py, without TESTING)."""
    return {"SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": url,
            "MEDIA_DIR": str(media_dir), "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": "memory://"}


def encode(clients, batch):
    """Request bodies, encoded once up front so client-side JSON work is not timed."""
    bodies = {}
    for client in clients:
        for kind in KINDS:
            bodies[client.index, kind] = [
                json.dumps({"device_id": device_id(client), "items": items},
                           ensure_ascii=False).encode()
                for items in client.batches(kind, batch)]
    return bodies


def push_all(transports, clients, bodies, kind, limit=None):
    """Push every client's ``kind`` batches (clients concurrently); returns (seconds, tally)."""
    tally = {"statuses": Counter(), "items": 0, "pushes": 0, "errors": [], "latencies": []}

    def one_client(client):
        transport = transports[client.index]
        local = Counter()
        errors, latencies = [], []
        for body in bodies[client.index, kind][:limit]:
            started = time.perf_counter()
            code, answer = transport.post(PUSH, body)
            latencies.append(time.perf_counter() - started)
            if code != 200:
                errors.append(f"HTTP {code}: {str(answer)[:300]}")
                continue
            for result in answer["results"]:
                local[result["status"]] += 1
                if result["status"] in ("rejected", "conflict") and len(errors) < 3:
                    errors.append(json.dumps(result, ensure_ascii=False)[:300])
        return local, errors, latencies

    started = time.perf_counter()
    if len(clients) == 1:
        outcomes = [one_client(clients[0])]  # main thread, so cProfile sees it
    else:
        with ThreadPoolExecutor(len(clients)) as pool:
            outcomes = list(pool.map(one_client, clients))
    seconds = time.perf_counter() - started
    for local, errors, latencies in outcomes:
        tally["statuses"].update(local)
        tally["errors"] += errors
        tally["pushes"] += len(latencies)
        tally["latencies"] += latencies
    tally["items"] = sum(tally["statuses"].values())
    return seconds, tally


def rate(count, seconds):
    """Per second, guarding against a zero duration."""
    return count / seconds if seconds > 0 else float("inf")


def endpoint_phase(transports, clients, bodies, counter=None, profiler=None):
    """Push households, then residents, then visits; returns {kind: (seconds, tally)}."""
    phases = {}
    for kind in KINDS:
        if counter:
            counter.start(kind)
        if profiler:
            profiler.enable()
        phases[kind] = push_all(transports, clients, bodies, kind)
        if profiler:
            profiler.disable()
    if counter:
        counter.stop()
    return phases


def check_endpoint(app, phases, expected, failures):
    """Every item ``created`` and the stored rows as expected; returns the stored content."""
    from server.extensions import db

    statuses = sum((t["statuses"] for _, t in phases.values()), Counter())
    errors = [e for _, t in phases.values() for e in t["errors"]]
    if statuses != Counter(created=expected["items"]) or errors:
        failures.append(f"push statuses {dict(statuses)}; first errors: {errors[:3]}")
    with app.app_context():
        stored = ingest_check.counts()
        content = ingest_check.content()
        db.session.remove()
    for table, count in stored.items():
        if count != expected[table]:
            failures.append(f"{table}: stored {count}, expected {expected[table]}")
    return content


def baseline_phase(app, engine, methods, clients, member_ids, endpoint_content, failures):
    """Write the same rows once per method; each copy must equal the endpoint's in content."""
    from server.extensions import db

    device_ids = {c.index: device_id(c) for c in clients}
    timings = {}
    for copies, method in enumerate(methods, start=2):
        timings[method] = ingest_baseline.run(engine, method, f"raw-{method}", clients,
                                              member_ids, device_ids)
        with app.app_context():
            now = ingest_check.content()
            db.session.remove()
        for table, mismatch in ingest_check.compare(endpoint_content, now, copies).items():
            failures.append(f"baseline {method}: {table} {mismatch}")
    return timings


def device_id(client):
    """The device id a client logs in and pushes with."""
    return f"{DEVICE}-{client.index + 1}"


def main(argv=None):
    args = parse_args(argv)
    from flask_migrate import upgrade

    from server import create_app
    from server.extensions import db

    redis = None
    if args.redis_url:
        from redis import Redis

        redis = Redis.from_url(args.redis_url)
        redis.flushdb()
    media = Path(tempfile.mkdtemp(prefix="cnscd_bench_media_"))
    store = Throwaway(args.database_url, args.db_name)
    server = engine = None
    failures = []
    try:
        store.create()
        app = create_app(app_config(store.url, args.redis_url, media))
        with app.app_context():
            upgrade()
            engine = db.engine
            commune = make_commune(args.hamlets, args.workers)
            db.session.remove()
        clients = make_clients(commune, args.workers)
        generate(args.seed, clients, args.visits, args.households, commune.hamlet_info)
        expected = ingest_check.expected_counts(clients)
        bodies = encode(clients, args.batch)

        how = "in-process WSGI (Flask test client)"
        if args.http == "spawn":
            server = spawn_gunicorn(store.url, args.redis_url, media, args.server_workers,
                                    args.server_threads)
            how = f"gunicorn {args.server_workers}w×{args.server_threads}t over HTTP"
        elif args.http:
            how = f"HTTP to {args.http}"
        base_url = server.url if server else args.http
        transports = {c.index: Http(base_url) if base_url else InProcess(app) for c in clients}
        for client in clients:
            transports[client.index].login(client.username, commune.password, device_id(client))

        counter = (ingest_check.StatementCounter(engine) if args.profile or args.sql_stats
                   else None)
        profiler = cProfile.Profile() if args.profile else None
        phases = endpoint_phase(transports, clients, bodies, counter, profiler)
        endpoint_content = check_endpoint(app, phases, expected, failures)

        replay = {kind: push_all(transports, clients, bodies, kind, limit=args.replay)
                  for kind in KINDS}
        replay_statuses = sum((t["statuses"] for _, t in replay.values()), Counter())
        if set(replay_statuses) != {"duplicate"}:
            failures.append(f"replay statuses {dict(replay_statuses)}")
        queued = _queued_jobs(redis)

        methods = args.baselines or ingest_baseline.METHODS[engine.dialect.name]
        baselines = baseline_phase(app, engine, methods, clients, commune.member_ids,
                                   endpoint_content, failures)

        report(args, how, engine, expected, phases, replay, queued, baselines, failures)
        if profiler:
            ingest_check.print_profile(profiler, args.profile)
        if counter:
            counter.print(phases)
    finally:
        if server:
            server.stop()
        if engine is not None:
            engine.dispose()
        store.drop(keep=args.keep_db)
        if redis is not None:
            redis.flushdb()
        shutil.rmtree(media, ignore_errors=True)
    return 1 if failures else 0


def _queued_jobs(redis):
    if redis is None:
        return None
    from rq import Queue

    queue = Queue("aggregates", connection=redis)
    return queue.count + queue.scheduled_job_registry.count


def _latency(values):
    """Median, p95 and drift (first ten pushes against the last ten) of push latencies."""
    if not values:
        return ""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    head, tail = values[:10], values[-10:]
    return (f"{statistics.median(values):.2f}, {p95:.2f}, "
            f"{statistics.mean(head):.2f} → {statistics.mean(tail):.2f}")


def report(args, how, engine, expected, phases, replay, queued, baselines, failures):
    """Print the table, the correctness checks and the verdict."""
    version = ".".join(str(v) for v in engine.dialect.server_version_info or ())
    print(f"\nSync push ingest — {engine.dialect.name} {version}, {how}, {args.workers} "
          f"client(s), batch {args.batch}, jobs "
          f"{'queued in Redis' if args.redis_url else 'run in-process'}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews both sides)")
    print(f"data: {expected['households']:,} households, {expected['residents']:,} residents, "
          f"{expected['visits']:,} visits, {expected['visit_services']:,} service lines, "
          f"{expected['followups']:,} follow-ups (seed {args.seed})\n")
    print(f"{'endpoint phase':<16}{'items':>9}{'pushes':>8}{'seconds':>10}{'items/s':>10}"
          f"   seconds per push: median, p95, first 10 → last 10 mean")
    total_s = total_items = total_pushes = 0
    for kind, (seconds, tally) in phases.items():
        print(f"{kind:<16}{tally['items']:>9,}{tally['pushes']:>8}{seconds:>10.2f}"
              f"{rate(tally['items'], seconds):>10,.0f}   {_latency(tally['latencies'])}")
        total_s += seconds
        total_items += tally["items"]
        total_pushes += tally["pushes"]
    print(f"{'all':<16}{total_items:>9,}{total_pushes:>8}{total_s:>10.2f}"
          f"{rate(total_items, total_s):>10,.0f}\n")
    endpoint = rate(expected["visits"], total_s)
    print(f"{'visits/s':<46}{'rate':>10}{'seconds':>10}  ratio endpoint/raw")
    print(f"{'endpoint (all three phases)':<46}{endpoint:>10,.0f}{total_s:>10.2f}")
    verdict = None
    for method, (built, written) in baselines.items():
        raw = rate(expected["visits"], built + written)
        ratio = endpoint / raw
        verdict = verdict or (method, ratio)
        print(f"{f'raw {method} (build {built:.2f}s + write {written:.2f}s)':<46}{raw:>10,.0f}"
              f"{built + written:>10.2f}  {ratio:7.1%}")
    if verdict:
        method, ratio = verdict
        word = "meets" if ratio >= AIM else "is BELOW"
        print(f"\nverdict: endpoint at {ratio:.1%} of raw {method} — {word} the {AIM:.0%} aim")
    replay_seconds = sum(seconds for seconds, _ in replay.values())
    replay_statuses = sum((t["statuses"] for _, t in replay.values()), Counter())
    replayed = sum(replay_statuses.values())
    print(f"replay: {replayed:,} items in {replay_seconds:.2f}s "
          f"({rate(replayed, replay_seconds):,.0f} items/s), statuses {dict(replay_statuses)}")
    if queued is not None:
        print(f"coverage drains queued in Redis: {queued} (the pushes share one; no worker ran)")
    print("checks: " + ("all passed (statuses created, row counts, follow-ups, replay duplicate, "
                        "baseline rows equal in content)" if not failures else "FAILED"))
    for failure in failures:
        print(f"  - {failure}")


if __name__ == "__main__":
    sys.exit(main())
