"""rq jobs: plain functions taking ids, safe to run twice, run inside an app context.

In production ``rq worker`` imports them by dotted path; with no Redis they run in-process
inside the request's app context.
"""
import functools
import logging

from flask import has_app_context

log = logging.getLogger("jobs")
_worker_app = None


def _app():
    global _worker_app
    if _worker_app is None:
        from server import create_app

        _worker_app = create_app()
    return _worker_app


def job(func):
    """Run ``func`` inside an app context (the caller's, or a worker app built from env)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        with _app().app_context():
            from server.extensions import db

            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper


def job_log(message, *args):
    """Log with the current rq job id so a line can be traced to its job."""
    try:
        from rq import get_current_job

        current = get_current_job()
    except Exception:  # noqa: BLE001 - logging must never break a job
        current = None
    prefix = f"[job {current.id}] " if current else "[in-process] "
    log.info(prefix + message, *args)

