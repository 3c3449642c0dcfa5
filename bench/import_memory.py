"""Household registry import: does the job's memory stay flat as the file grows tenfold?

Generates a registry file of ``--rows`` rows (default 100,000) and one of ``--baseline-rows``
(default 10,000) with the same shape — households of 1–5 people, the household's data on its
first person's row, about 1% bad rows — and imports each in a fresh process and a fresh database
through the job's own code (``registry_import.request_import`` → ``jobs.imports.import_registry``
in-process, as without Redis). Each run prints the peak RSS growth over the process's resident
size just before the import (Linux ``VmHWM`` after resetting it through
``/proc/self/clear_refs``), its time and rows/s, and checks the outcome against what the
generator wrote. Memory is *bounded* when the big file's growth is not ~10× the baseline's.

    .venv/bin/python bench/import_memory.py                  # 100k vs 10k rows, CSV
    .venv/bin/python bench/import_memory.py --format xlsx    # the same as XLSX (Excel-like)
    .venv/bin/python bench/import_memory.py --small          # 2,000 vs 200 rows, re-import
    .venv/bin/python bench/import_memory.py --database-url sqlite:////tmp/imp.db

Exit status 1 means a correctness check failed; memory and time are reported, never failed.
See bench/README.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from import_data import write_file  # noqa: E402


def say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- one measured run (a child process) --------------------------------------------------------

def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class Peak:
    """The process's peak RSS from here on: ``VmHWM`` reset through clear_refs, else sampled."""

    def __init__(self):
        self.reset = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.reset = True
        except OSError:
            pass
        self.sampled = _status("VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.01):
            self.sampled = max(self.sampled, _status("VmRSS"))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return max(self.sampled, _status("VmHWM")) if self.reset else self.sampled


def child(args):
    """Import each ``args.file`` into its own hamlet of a fresh database, measured one after
    the other; print one JSON line with a result per file."""
    import gc

    from ingest_env import Throwaway, make_commune

    url = args.database_url.replace("{pid}", str(os.getpid()))
    db_handle = Throwaway(url, name=f"cnscd_bench_imp{os.getpid()}")
    db_handle.create()
    media = Path(tempfile.mkdtemp(prefix="cnscd_imp_media_"))
    results = []
    try:
        from flask_migrate import upgrade
        from sqlalchemy import select

        from server import create_app
        from server.auth import principal_for
        from server.extensions import db
        from server.models import User
        from server.models.imports import RegistryImportTask
        from server.services import accounts, registry_import

        app = create_app({"SQLALCHEMY_DATABASE_URI": db_handle.url, "MEDIA_DIR": str(media),
                          "REDIS_URL": None, "INPROCESS_JOBS": "sync", "SECRET_KEY": "bench",
                          "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 8192})
        with app.app_context():
            upgrade()
            make_commune(hamlets=len(args.file) + 1, teams=1)
            from ingest_env import COMMUNE_CODE

            accounts.create_user("bench.officer", "bench-password-42", "commune_officer",
                                 commune_code=COMMUNE_CODE)
            user = db.session.scalar(select(User).where(User.username == "bench.officer"))
            principal = principal_for(user)
            warm, *hamlets = sorted(principal.hamlet_ids)

            def run(path, hamlet_id):
                with open(path, "rb") as fh:
                    task = registry_import.request_import(principal, hamlet_id, fh,
                                                          Path(path).name)
                db.session.expire_all()
                return db.session.get(RegistryImportTask, task.id)

            # Warm-up into another hamlet: imports, caches and the first chunk's allocations
            # are paid before the measurement starts.
            run(args.warmup, warm)
            for path, expected, hamlet in zip(args.file, args.expected, hamlets):
                gc.collect()
                before = _status("VmRSS")
                peak = Peak()
                started, cpu = time.perf_counter(), time.process_time()
                task = run(path, hamlet)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                top = peak.stop()
                failures = check(task, json.loads(expected), hamlet)
                again = None
                if args.reimport:
                    redo = run(path, hamlet)
                    again = redo.counts or {}
                    if again.get("households_created") or again.get("residents_created") or \
                            again.get("households_unchanged") != \
                            json.loads(expected)["households_created"]:
                        failures.append(f"re-import: {again}")
                results.append({"seconds": seconds, "cpu": cpu, "rss_before": before,
                                "peak": top,
                                "peak_reset": peak.reset, "counts": task.counts,
                                "reimport": again, "failures": failures})
            db.session.remove()
            db.engine.dispose()
        print(json.dumps(results))
    finally:
        db_handle.drop()
        import shutil

        shutil.rmtree(media, ignore_errors=True)


def check(task, expected, hamlet):
    """What is wrong with an import against the generator's expectations."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.models import Household, Resident
    from server.services import registry_import

    failures = []
    counts = task.counts or {}
    if task.state != "done":
        failures.append(f"task {task.state}: {task.error}")
    for key, value in expected.items():
        if counts.get(key) != value:
            failures.append(f"{key}: imported {counts.get(key)}, expected {value}")
    stored = db.session.scalar(select(func.count()).select_from(Household).where(
        Household.hamlet_id == hamlet))
    people = db.session.scalar(select(func.count()).select_from(Resident).where(
        Resident.hamlet_id == hamlet))
    if (stored, people) != (expected["households_created"], expected["residents_created"]):
        failures.append(f"stored {stored} households, {people} residents")
    report = registry_import.report_of(task)
    lines = sum(1 for _ in open(report, encoding="utf-8-sig")) - 1 if report else 0
    if lines != expected["rows_with_errors"]:
        failures.append(f"error report has {lines} lines, expected "
                        f"{expected['rows_with_errors']}")
    return failures


# --- the parent ---------------------------------------------------------------------------------

def measure(args, fmt, sizes, directory, one_process):
    """Import a file of each size (each in a fresh process, or all in one); their results."""
    files = []
    for rows in sizes:
        path = directory / f"registry-{rows}.{fmt}"
        say(f"{fmt}: writing {rows:,} rows")
        files.append((rows, path, write_file(path, fmt, rows, args.seed)))
    warmup = directory / f"warmup.{fmt}"
    write_file(warmup, fmt, 300, args.seed + 1)
    groups = [files] if one_process else [[f] for f in files]
    results = []
    for group in groups:
        say(f"{fmt}: importing " + " then ".join(
            f"{rows:,} rows ({path.stat().st_size / 1e6:.1f} MB)" for rows, path, _ in group)
            + " in a fresh process")
        cmd = [sys.executable, __file__, "--child", "--warmup", str(warmup),
               "--database-url", args.database_url]
        for _, path, expected in group:
            cmd += ["--file", str(path), "--expected", json.dumps(expected)]
        if args.reimport:
            cmd.append("--reimport")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            say(proc.stderr[-4000:])
            results += [{"rows": rows, "failures": [f"child exited {proc.returncode}"]}
                        for rows, _, _ in group]
            continue
        answers = json.loads(proc.stdout.strip().splitlines()[-1])
        for (rows, path, expected), result in zip(group, answers):
            result.update(rows=rows, bytes=path.stat().st_size, expected=expected)
            results.append(result)
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--baseline-rows", type=int, default=10_000)
    p.add_argument("--format", choices=("csv", "xlsx", "both"), default="csv")
    p.add_argument("--database-url", default="postgresql://postgres:postgres@127.0.0.1:5432/"
                   "postgres", help="a PostgreSQL server (a throwaway database is made on it) "
                   "or sqlite:///FILE")
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--reimport", action="store_true", help="import each file twice; the second "
                   "run must create nothing")
    p.add_argument("--small", action="store_true", help="2,000 vs 200 rows in one process, "
                   "with --reimport")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--file", action="append", help=argparse.SUPPRESS)
    p.add_argument("--warmup", help=argparse.SUPPRESS)
    p.add_argument("--expected", action="append", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    if args.small:
        args.rows, args.baseline_rows, args.reimport = 2000, 200, True
    if args.database_url.startswith("sqlite"):
        # Each child needs its own file: the URL names a directory's worth of them.
        base = args.database_url.split("///", 1)[1]
        args.database_url = f"sqlite:///{Path(base).with_suffix('')}-{{pid}}.db"
    formats = ("csv", "xlsx") if args.format == "both" else (args.format,)
    failures, lines = [], []
    with tempfile.TemporaryDirectory(prefix="cnscd_import_bench_") as tmp:
        for fmt in formats:
            # The small mode checks the bench in the suite: one process, one migration.
            results = measure(args, fmt, (args.baseline_rows, args.rows), Path(tmp),
                              one_process=args.small)
            for result in results:
                failures += [f"{fmt} {result['rows']:,} rows: {f}" for f in result["failures"]]
            lines.append((fmt, results))
    print(f"## registry import memory ({args.database_url.split('@')[-1]}, load average "
          f"{os.getloadavg()[0]:.1f}); peak RSS growth = peak resident size during the import − "
          "resident size just before it; CPU s = the importing process's CPU time (the "
          "database server's not included)")
    print(f"{'format':6} {'rows':>8} {'MB file':>8} {'seconds':>8} {'rows/s':>7} "
          f"{'CPU s':>6} {'RSS before':>10} {'peak growth':>11}")
    for fmt, results in lines:
        for r in results:
            if "seconds" not in r:
                continue
            print(f"{fmt:6} {r['rows']:>8,} {r['bytes'] / 1e6:>8.1f} {r['seconds']:>8.1f} "
                  f"{r['rows'] / r['seconds']:>7,.0f} {r['cpu']:>6.1f} "
                  f"{r['rss_before'] / 2**20:>8.1f} MB "
                  f"{(r['peak'] - r['rss_before']) / 2**20:>8.1f} MB")
        small, big = results
        if "seconds" in small and "seconds" in big:
            g_small = max(small["peak"] - small["rss_before"], 1)
            g_big = max(big["peak"] - big["rss_before"], 1)
            ratio = g_big / g_small
            # Proportional memory would grow by the baseline's growth × the rows' ratio; a few
            # MB either way are allocator noise, not the file.
            bounded = ratio < 3 or g_big - g_small < 16 * 2**20
            verdict = "bounded (not proportional to rows)" if bounded else "GROWS with the file"
            print(f"{fmt}: growth {big['rows']:,} rows / {small['rows']:,} rows = {ratio:.2f} "
                  f"for {big['rows'] / small['rows']:.0f}× the rows: {verdict}"
                  + ("" if big.get("peak_reset")
                     else " (sampled every 10 ms: VmHWM not resettable)"))
            if big.get("reimport") is not None:
                print(f"{fmt}: re-import of {big['rows']:,} rows: {big['reimport']}")
    if failures:
        print("checks: FAILED\n  " + "\n  ".join(failures))
        return 1
    print("checks: all passed (counts, stored rows, error report lines"
          + (", re-import created nothing" if args.reimport else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
