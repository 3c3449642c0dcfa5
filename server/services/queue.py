"""Where jobs run: rq on Redis when ``REDIS_URL`` is set, otherwise in this process.

Jobs are named by dotted path so services never import ``jobs`` (which imports services).
Without Redis (the embedded mode) each web process is also its own worker:

- photo jobs run on one job thread per process, off the request that queued them
  (``INPROCESS_JOBS = "thread"``); ``"sync"`` runs them inline, as tests do by default;
  a CLI command always waits for its jobs. Other queues (aggregates) stay inline, so a push's
  figures are up to date when it answers.
- the photo sweep, which ``flask worker`` runs with Redis, runs on a daemon thread that the
  process's first request starts (``PHOTO_SWEEP_IN_WEB``): never during ``db upgrade`` or other
  commands, and once per gunicorn worker, which is safe because the sweep claims each row with
  a conditional UPDATE.
"""
import logging
from datetime import timedelta
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import click
from flask import current_app
from werkzeug.utils import import_string

log = logging.getLogger(__name__)

QUEUES = ("photos", "aggregates", "default")
THREAD_QUEUES = ("photos",)  # decoding a photo takes seconds and hundreds of MB: not in a request
SWEEP = "server.services.photos.sweep_stale"

_lock = threading.Lock()
_executor = None  # this process's job thread, made on first use
_in_flight = set()  # (path, args) queued or running on this process's job thread or inline
_sweeper = None  # (thread, stop event, the app it sweeps for)


def _forget_parent_threads():
    # A forked child (gunicorn worker) has none of its parent's threads: start its own.
    global _lock, _executor, _in_flight, _sweeper
    _lock, _executor, _in_flight, _sweeper = threading.Lock(), None, set(), None


os.register_at_fork(after_in_child=_forget_parent_threads)


def redis_connection():
    """The Redis connection of the app, or None in the embedded mode."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    conn = current_app.extensions.get("redis")
    if conn is None:
        from redis import Redis

        conn = current_app.extensions["redis"] = Redis.from_url(url)
    return conn


def embedded():
    """True when jobs run in this process (no ``REDIS_URL``)."""
    return not current_app.config.get("REDIS_URL")


def inprocess_mode():
    """``thread`` or ``sync``: how the embedded mode runs photo jobs (tests default to sync)."""
    mode = current_app.config.get("INPROCESS_JOBS") or ("sync" if current_app.testing else "thread")
    if mode not in ("thread", "sync"):
        raise ValueError(f"INPROCESS_JOBS must be 'thread' or 'sync', not {mode!r}")
    return mode


def in_flight(path, *args):
    """True while ``path(*args)`` is queued or running in this process (embedded mode)."""
    with _lock:
        return (path, args) in _in_flight


def enqueue(path, *args, queue="default", job_id=None, retries=3, timeout=300,
            off_request=False, delay=0):
    """Run ``path(*args)`` as a job; call only after the caller's transaction committed.

    ``off_request``: without Redis, run it on the job thread like a photo (a long job such as a
    registry import must not hold the request that queued it). ``delay``: with Redis, seconds
    before the job is queued (the workers' scheduler queues it); without Redis it runs now.
    """
    conn = redis_connection()
    if conn is None:
        return _run_here(path, args, queue, off_request)
    from rq import Queue, Retry

    q = Queue(queue, connection=conn)
    options = dict(job_id=job_id, retry=Retry(max=retries, interval=[5, 30, 120]),
                   job_timeout=timeout, result_ttl=3600, failure_ttl=7 * 24 * 3600)
    if delay:
        return q.enqueue_in(timedelta(seconds=delay), path, *args, **options).id
    return q.enqueue(path, *args, **options).id


def _run_here(path, args, queue, off_request=False):
    if queue not in THREAD_QUEUES and not off_request:
        log.debug("running %s%r in-process", path, args)
        import_string(path)(*args)
        return None
    key = (path, args)
    with _lock:
        if key in _in_flight:
            log.debug("%s%r is already queued in this process", path, args)
            return None
        _in_flight.add(key)
    try:
        if inprocess_mode() == "thread" and click.get_current_context(silent=True) is None:
            app = current_app._get_current_object()
            _job_thread().submit(_run_on_job_thread, app, path, args, key)
            return None  # the job thread lets go of the key
        log.debug("running %s%r in-process", path, args)
        import_string(path)(*args)
    except BaseException:
        _release(key)
        raise
    _release(key)
    return None


def _job_thread():
    global _executor
    with _lock:
        if _executor is None:
            # One thread: at most one photo decodes at a time per process, which bounds memory.
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo-jobs")
        return _executor


def _run_on_job_thread(app, path, args, key):
    try:
        with app.app_context():  # its teardown removes the job's database session
            import_string(path)(*args)
    except Exception:  # noqa: BLE001 - the row stays pending: a retry or the sweeper wakes it
        log.exception("in-process job %s%r failed", path, args)
    finally:
        _release(key)


def _release(key):
    with _lock:
        _in_flight.discard(key)


# The sweeper of the embedded mode ---------------------------------------------------------------

def web_sweeper_wanted(app):
    """Whether this app's web process sweeps photos (default: without Redis, not in tests)."""
    wanted = app.config.get("PHOTO_SWEEP_IN_WEB")
    if wanted is None:
        return not app.config.get("REDIS_URL") and not app.testing
    return bool(wanted)


def init_app(app):
    """Start the photo sweeper with the first request of each web process that wants one."""
    app.before_request(_start_sweeper_once)


def _start_sweeper_once():
    global _sweeper
    app = current_app._get_current_object()
    if _sweeper is not None and _sweeper[2] is app:
        return
    if not web_sweeper_wanted(app):
        return
    if _sweeper is not None:
        stop_sweeper()  # one process, another app (tests build many): sweep for this one
    with _lock:
        if _sweeper is None:
            stop = threading.Event()
            thread = threading.Thread(target=_sweep_until_stopped, args=(app, stop),
                                      name="photo-sweeper", daemon=True)
            thread.start()
            _sweeper = (thread, stop, app)


def _sweep_until_stopped(app, stop):
    while True:
        try:
            with app.app_context():
                counts = import_string(SWEEP)()
            if any(counts.values()):
                log.info("photo sweep: %s", counts)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("photo sweep failed")
        if stop.wait(app.config["PHOTO_SWEEP_SECONDS"]):
            return


def sweeper_running():
    """True while this process's sweeper thread is alive."""
    sweeper = _sweeper
    return sweeper is not None and sweeper[0].is_alive()


def stop_sweeper(timeout=30):
    """Stop this process's sweeper thread after its current round (tests; clean shutdowns)."""
    global _sweeper
    with _lock:
        sweeper, _sweeper = _sweeper, None
    if sweeper is not None:
        sweeper[1].set()
        sweeper[0].join(timeout)
