"""Enqueueing jobs: rq on Redis when ``REDIS_URL`` is set, otherwise run in-process.

Jobs are named by dotted path so services never import ``jobs`` (which imports services).
"""
import logging

from flask import current_app
from werkzeug.utils import import_string

log = logging.getLogger(__name__)

QUEUES = ("photos", "aggregates", "default")


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


def enqueue(path, *args, queue="default", job_id=None, retries=3):
    """Run ``path(*args)`` as a job; call only after the caller's transaction committed."""
    conn = redis_connection()
    if conn is None:
        log.debug("running %s%r in-process", path, args)
        import_string(path)(*args)
        return None
    from rq import Queue, Retry

    q = Queue(queue, connection=conn)
    job = q.enqueue(
        path, *args, job_id=job_id, retry=Retry(max=retries, interval=[5, 30, 120]),
        job_timeout=300, result_ttl=3600, failure_ttl=7 * 24 * 3600,
    )
    return job.id
