"""Campaign peak: many phones empty their offline outboxes at once over a bad network, against
gunicorn + PostgreSQL + Redis + real rq workers; then every acknowledged record must be stored
exactly once and the coverage rows must equal a rebuild.

    .venv/bin/python bench/load.py --small          # CI: 50 phones x 10 visits, under a minute
    .venv/bin/python bench/load.py --phones 300 --visits 20
    .venv/bin/python bench/load.py                  # 3,000 phones x 100 visits (see README)

Prints throughput, push latency p50/p95/p99, the time to drain the backlog as a ratio of the
time a raw COPY of the same rows takes in the same run, and /healthz p99 during the burst as a
ratio of idle. Exit status 1 means a correctness check failed (timings are reported, never
failed). See bench/README.md.
"""
import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import ingest_baseline  # noqa: E402
import ingest_check  # noqa: E402
import load_check  # noqa: E402
from ingest_data import Client, generate  # noqa: E402
from ingest_env import Throwaway, spawn_gunicorn  # noqa: E402
from load_phone import Chaos, Phone  # noqa: E402
from load_world import device_id, make_province, rebuild_cli, sign_in, spawn_workers  # noqa: E402


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--small", action="store_true",
                   help="the CI size: 50 phones x 10 visits, 10 to a commune, 120 s deadline")
    p.add_argument("--phones", type=int, default=3000, help="simulated phones")
    p.add_argument("--visits", type=int, default=100, help="visits in each phone's backlog")
    p.add_argument("--households", type=float, default=1 / 3,
                   help="households registered offline per visit (1-3 residents each)")
    p.add_argument("--per-commune", type=int, default=30,
                   help="phones (hamlets, teams) per commune")
    p.add_argument("--concurrency", type=int, default=64,
                   help="phones online at the same moment (each one's pushes are sequential)")
    p.add_argument("--batch", default="5,60", help="push size range MIN,MAX (items)")
    p.add_argument("--lost-answer", type=float, default=0.05,
                   help="share of requests whose answer is lost with the connection")
    p.add_argument("--cut-upload", type=float, default=0.03,
                   help="share of requests cut halfway through the body")
    p.add_argument("--duplicate", type=float, default=0.08,
                   help="share of acknowledged pushes sent once more")
    p.add_argument("--photo-share", type=float, default=0.1,
                   help="share of phones that upload a photo of a visit")
    p.add_argument("--server-workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--server-threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--rq-workers", type=int, default=2,
                   help="flask worker processes (each on photos, aggregates, default)")
    p.add_argument("--deadline", type=float, default=3600,
                   help="seconds the phones get to empty their outboxes; as long again for the "
                        "jobs to settle")
    p.add_argument("--api-check-phones", type=int, default=200,
                   help="phones that check their records through the API afterwards")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="PostgreSQL server; the database cnscd_bench_load_<pid> is made on it "
                        "and dropped at the end")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                   help="Redis database of the jobs and rate limits (flushed before and after)")
    p.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = p.parse_args(argv)
    if args.small:
        args.phones, args.visits, args.per_commune = 50, 10, 10
        args.concurrency, args.deadline = 50, 120  # a bound on a busy machine, not an aim
    if not args.database_url.startswith("postgresql"):
        p.error("PostgreSQL only (the baseline is COPY)")
    low, high = (int(v) for v in args.batch.split(","))
    if not 1 <= low <= high <= 500:
        p.error("--batch must be MIN,MAX within 1..500")
    args.batch = (low, high)
    return args


def percentile(values, share):
    """The ``share`` percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


class Probe:
    """GETs /healthz every ``interval`` seconds on its own connection; keeps the latencies."""

    def __init__(self, host, port, interval):
        import http.client

        self.make = lambda: http.client.HTTPConnection(host, port, timeout=60)
        self.interval = interval
        self.samples, self.failures = [], 0
        self.stop = threading.Event()
        self.thread = None

    def one(self, conn):
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise OSError(f"healthz {resp.status}")
        return time.perf_counter() - started

    def sample(self, count):
        """``count`` samples now (the idle measurement)."""
        conn = self.make()
        found = []
        for _ in range(count):
            found.append(self.one(conn))
            time.sleep(self.interval)
        conn.close()
        return found

    def start(self):
        def loop():
            conn = self.make()
            while not self.stop.is_set():
                try:
                    self.samples.append(self.one(conn))
                except Exception:  # noqa: BLE001 - counted; a probe never stops the bench
                    self.failures += 1
                    conn.close()
                    conn = self.make()
                self.stop.wait(self.interval)
            conn.close()

        self.thread = threading.Thread(target=loop, name="healthz-probe", daemon=True)
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(70)
        return self.samples


def app_config(url):
    """The bench process's app: set-up, checks and the baseline. Cheap password hashes for the
    thousands of members (the server re-hashes each at its first login, as it would in
    production after a parameter change)."""
    return {"SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
            "RATELIMIT_STORAGE_URI": "memory://", "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 8192}


def make_phones(args, province, base_url):
    clients = [Client(index=k, username=user, hamlet_ids=hamlets)
               for k, (user, hamlets, _) in enumerate(province.phones)]
    total_visits = args.phones * args.visits
    households = max(args.phones, round(total_visits * args.households))
    generate(args.seed, clients, total_visits, households, province.hamlet_info)
    chaos = Chaos(lost_answer=args.lost_answer, cut_upload=args.cut_upload,
                  duplicate=args.duplicate)
    rng = random.Random(f"{args.seed}:photos")
    photo_phones = set(rng.sample(range(args.phones), round(args.phones * args.photo_share)))
    phones = [Phone(base_url, c, province.tokens[c.index], device_id(c.index),
                    f"{args.seed}:{c.index}", chaos, args.batch, photo=c.index in photo_phones,
                    deadline=None) for c in clients]
    return clients, phones


def run_pool(phones, concurrency, work):
    with ThreadPoolExecutor(max(1, min(concurrency, len(phones)))) as pool:
        return list(pool.map(work, phones))


def main(argv=None):
    args = parse_args(argv)
    from flask_migrate import upgrade
    from redis import Redis

    from server import create_app
    from server.extensions import db

    def on_term(*_):
        raise SystemExit(143)  # run the clean-up below

    signal.signal(signal.SIGTERM, on_term)
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    media = Path(tempfile.mkdtemp(prefix="cnscd_load_media_"))
    store = Throwaway(args.database_url, f"cnscd_bench_load_{os.getpid()}")
    server = workers = engine = None
    failures, timings = [], {}
    started_all = time.monotonic()
    try:
        store.create()
        t = time.monotonic()
        app = create_app(app_config(store.url))
        with app.app_context():
            upgrade()
            engine = db.engine
            province = make_province(args.phones, args.per_commune)
            sign_in(province)
            timings["setup"] = time.monotonic() - t
            db.session.remove()
        server = spawn_gunicorn(store.url, args.redis_url, media, args.server_workers,
                                args.server_threads)
        workers = spawn_workers(args.rq_workers, store.url, args.redis_url, media)
        clients, phones = make_phones(args, province, server.url)
        t = time.monotonic()
        accepted = run_pool(phones, min(args.concurrency, 16), lambda p: p.check_token())
        timings["tokens"] = time.monotonic() - t
        if not all(accepted):
            failures.append(f"{accepted.count(False)} phones' tokens refused")
            return report_and_exit(args, failures)

        host, port = server.url.split("//")[1].split(":")
        probe = Probe(host, int(port), 0.05)
        idle = probe.sample(100)
        burst_started = time.monotonic()
        for phone in phones:
            phone.deadline = burst_started + args.deadline
        probe.start()
        outcomes = run_pool(phones, args.concurrency, lambda p: p.run())
        acked_at = max(o.finished_at for o in outcomes)
        burst = probe.finish()
        settled, left = load_check.settle(store.url, redis, acked_at + args.deadline)
        settled_at = time.monotonic()
        if not settled:
            failures.append(f"jobs not settled within {args.deadline:.0f}s: {left}")
        for phone in phones:
            if phone.out.errors:
                failures.append(f"{phone.client.username}: {'; '.join(phone.out.errors[:3])}")
            if len(failures) > 20:
                break

        expected, photos = load_check.check_database(store.url, clients, outcomes, failures)
        sample = random.Random(args.seed).sample(phones, min(args.api_check_phones, len(phones)))
        api_phones = load_check.check_api(host, int(port), sample, failures)
        incremental = load_check.incremental_rows(store.url, province.commune_ids)
        t = time.monotonic()
        rebuild_cli(store.url, media)
        timings["rebuild"] = time.monotonic() - t
        compared = load_check.compare_rows(
            incremental, load_check.incremental_rows(store.url, province.commune_ids), failures)

        with app.app_context():
            before = ingest_check.content()
            db.session.remove()
        built, written = ingest_baseline.run(
            engine, "copy", "raw-copy", clients, province.member_ids,
            {p.client.index: p.device_id for p in phones})
        with app.app_context():
            after = ingest_check.content()
            db.session.remove()
        for table, mismatch in ingest_check.compare(before, after, 2).items():
            failures.append(f"baseline copy: {table} {mismatch}")

        report(args, expected, outcomes, photos, api_phones, compared, timings, failures, {
            "burst_started": burst_started, "acked_at": acked_at, "settled_at": settled_at,
            "idle": idle, "burst": burst, "probe_failures": probe.failures,
            "copy": built + written, "built": built, "written": written})
    finally:
        for proc in (server, workers):
            if proc is not None:
                proc.stop()
        if engine is not None:
            engine.dispose()
        store.drop(keep=args.keep_db)
        redis.flushdb()
        shutil.rmtree(media, ignore_errors=True)
    print(f"total wall time {time.monotonic() - started_all:.0f}s")
    return 1 if failures else 0


def report_and_exit(args, failures):
    print("checks: FAILED")
    for failure in failures:
        print(f"  - {failure}")
    return 1


def ms(seconds):
    return f"{seconds * 1000:.0f}"


def report(args, expected, outcomes, photos, api_phones, compared, timings, failures, m):
    """Print the figures, then the checks."""
    latencies = [x for o in outcomes for x in o.latencies]
    photo_lat = [x for o in outcomes for x in o.photo_latencies]
    faults = {}
    for o in outcomes:
        for kind, n in o.faults.items():
            faults[kind] = faults.get(kind, 0) + n
    statuses = {}
    for o in outcomes:
        for kind, n in o.statuses.items():
            statuses[kind] = statuses.get(kind, 0) + n
    requests = len(latencies) + len(photo_lat) + sum(faults.values())
    items = expected["items"]
    visits = expected["visits"]
    acked_s = m["acked_at"] - m["burst_started"]
    settled_s = m["settled_at"] - m["burst_started"]
    copy_s = m["copy"]
    print(f"\nCampaign peak — {args.phones:,} phones × {args.visits} visits "
          f"({visits:,} visits, {expected['households']:,} households, "
          f"{expected['residents']:,} residents, {expected['visit_services']:,} service lines), "
          f"{-(-args.phones // args.per_commune)} communes of "
          f"≤{args.per_commune} phones; gunicorn {args.server_workers}w×{args.server_threads}t, "
          f"{args.rq_workers} rq workers, {args.concurrency} phones online at once; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"set-up {timings['setup']:.1f}s (migrations, members, tokens), token check "
          f"{timings['tokens']:.1f}s (not timed below)")
    print(f"faults: {dict(sorted(faults.items()))}; duplicate sends answered all-duplicate: "
          f"{sum(o.duplicate_checks for o in outcomes)}")
    print(f"push statuses read: {dict(sorted(statuses.items()))}\n")
    print(f"burst: {requests:,} requests in {acked_s:.1f}s = {requests / acked_s:,.1f} req/s; "
          f"{items / acked_s:,.0f} items/s; {visits / acked_s:,.0f} visits/s")
    print(f"push latency ms (answered 200, n={len(latencies):,}): p50 "
          f"{ms(percentile(latencies, .5))}, p95 {ms(percentile(latencies, .95))}, p99 "
          f"{ms(percentile(latencies, .99))}")
    if photo_lat:
        print(f"photo upload latency ms (n={len(photo_lat)}): p50 {ms(percentile(photo_lat, .5))}"
              f", p95 {ms(percentile(photo_lat, .95))}, p99 {ms(percentile(photo_lat, .99))}")
    raw_rate = visits / copy_s
    print(f"raw COPY of the same rows: {copy_s:.2f}s (build {m['built']:.2f}s + write "
          f"{m['written']:.2f}s) = {raw_rate:,.0f} visits/s")
    print(f"drain: every record acknowledged after {acked_s:.1f}s = {acked_s / copy_s:.1f}× "
          f"(visits / raw COPY rate); jobs settled (aggregates, {photos} photos) after "
          f"{settled_s:.1f}s = {settled_s / copy_s:.1f}×")
    idle, burst = m["idle"], m["burst"]
    idle99, burst99 = percentile(idle, .99), percentile(burst, .99)
    print(f"/healthz ms: idle p50 {percentile(idle, .5) * 1000:.1f} p99 {idle99 * 1000:.1f} "
          f"(n={len(idle)}); burst p50 {percentile(burst, .5) * 1000:.1f} p99 "
          f"{burst99 * 1000:.1f} (n={len(burst)}, {m['probe_failures']} failed); "
          f"p99 burst/idle {burst99 / idle99 if idle99 else 0:.1f}×")
    print(f"aggregates rebuild (flask aggregates rebuild) {timings['rebuild']:.1f}s; "
          f"{compared:,} coverage rows compared")
    print("checks: " + ("all passed (every acknowledged record stored exactly once in the "
                        "database and seen once through the API by "
                        f"{api_phones} phones, duplicates answered duplicate, photos processed, "
                        "jobs settled, aggregates = rebuild, baseline rows = stored rows)"
                        if not failures else "FAILED"))
    for failure in failures[:30]:
        print(f"  - {failure}")


if __name__ == "__main__":
    sys.exit(main())
