"""Browser-facing routes: the field app shell (the PWA lives in ``static/``)."""
from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("web", __name__)


@bp.route("/")
def index():
    """The PWA's app shell; never cached by HTTP so a new service worker is always found."""
    resp = send_from_directory(current_app.static_folder, "index.html", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.route("/sw.js")
def service_worker():
    """The service worker, revalidated on every check so updates are noticed."""
    resp = send_from_directory(current_app.static_folder, "sw.js", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


def register_web(app):
    """Register the page blueprints."""
    app.register_blueprint(bp)
