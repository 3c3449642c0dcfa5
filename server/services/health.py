"""Liveness and readiness: is this process up, and can it reach what it needs?"""
import logging

from flask import current_app
from sqlalchemy import text

from server.extensions import db

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 3


def readiness():
    """``{dependency: "ok" | "unreachable" | "not_configured"}`` for the database and Redis."""
    return {"database": _database(), "redis": _redis()}


def _database():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as err:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database unreachable (%s)", type(err).__name__)
        return "unreachable"
    finally:
        db.session.rollback()


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not_configured"
    conn = current_app.extensions.get("redis_health")
    if conn is None:
        from redis import Redis

        # Its own connection with short timeouts: a probe must answer even when Redis hangs.
        conn = current_app.extensions["redis_health"] = Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        conn.ping()
        return "ok"
    except Exception as err:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: Redis unreachable (%s)", type(err).__name__)
        return "unreachable"
