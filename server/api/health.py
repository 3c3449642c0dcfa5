"""``/healthz`` and ``/readyz`` for load balancers, systemd and monitoring (not under /api/v1:
they are about this process, not the contract's data)."""
from flask import Blueprint, jsonify

from server.errors import error_response
from server.services import health

bp = Blueprint("health", __name__)


@bp.route("/healthz", methods=["GET"])
def healthz():
    """The process is up and answering; touches neither the database nor Redis."""
    return _no_store(jsonify({"status": "ok"}))


@bp.route("/readyz", methods=["GET"])
def readyz():
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    checks = health.readiness()
    failing = {name: [state] for name, state in checks.items() if state == "unreachable"}
    if failing:
        return _no_store(error_response(503, "service_unavailable",
                                        "Not ready: a dependency is unreachable", failing))
    return _no_store(jsonify({"status": "ready", "checks": checks}))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # a probe must see now, not a cached answer
    return response
