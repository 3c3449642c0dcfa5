"""Browser-facing routes: the field app (the PWA's files live in ``static/``)."""
import hashlib

from flask import Blueprint, current_app, request

from server.web import assets
from server.web.shell import service_worker_script

bp = Blueprint("web", __name__)

# Only these paths are the PWA's: a catch-all static route would answer 405 instead of 404 to
# any non-GET request on an unknown path.
ROOT_FILES = "any('manifest.webmanifest', 'app.css')"
FOLDERS = "any(app, vendor, icons)"


def _no_cache(resp):
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# The shell's files are served minified, compressed once and with lean headers
# (server/web/assets.py), always revalidated ("no-cache"): the service worker's cache, checked
# against the hashes of these same bytes, is what keeps them offline.

@bp.route("/")
def index():
    """The app shell; revalidated each time so a new service worker is always found."""
    return assets.respond(current_app.static_folder, "index.html")


@bp.route("/sw.js")
def service_worker():
    """The service worker with its shell's hashes filled in (server/web/shell.py), revalidated
    on every check so updates are noticed."""
    script, version = service_worker_script(current_app.static_folder)
    resp = current_app.response_class(script, mimetype="text/javascript")
    resp.set_etag(hashlib.sha256(script.encode()).hexdigest()[:32])
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["X-Shell-Version"] = version
    return _no_cache(resp.make_conditional(request))


@bp.route(f"/<{ROOT_FILES}:name>")
def root_file(name):
    """The manifest and the stylesheet."""
    return assets.respond(current_app.static_folder, name)


@bp.route(f"/<{FOLDERS}:folder>/<path:filename>")
def asset(folder, filename):
    """App modules, vendored libraries and icons (the service worker caches them by version)."""
    return assets.respond(f"{current_app.static_folder}/{folder}", filename)


def register_web(app):
    """Register the page blueprints."""
    app.register_blueprint(bp)
    # The office console: its pages' modules add their routes to office.bp on import.
    from server.web import office, office_baselines, office_quality, office_visits  # noqa: F401
    from server.web import office_overview, office_reports  # noqa: F401
    from server.web import office_imports  # noqa: F401
    from server.web import session_auth

    session_auth.init_app(app)  # cookie sessions' CSRF check on every non-API form
    app.register_blueprint(office.bp)
    from server.web import province  # the province's page (/province/)

    app.register_blueprint(province.bp)
    # The admin console, on the same sessions: its sections add their routes to admin.bp.
    from server.web import admin, admin_catalogue, admin_keys, admin_targets  # noqa: F401
    from server.web import admin_teams, admin_units, admin_users  # noqa: F401

    app.register_blueprint(admin.bp)
