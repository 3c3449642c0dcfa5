"""JSON API blueprints (``/api/v1``)."""
import flask_smorest
from flask import current_app, request

from server.errors import UnsupportedMediaType
from server.safe_json import ApiParser


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``@bp.arguments`` read JSON through ``ApiParser``."""

    ARGUMENTS_PARSER = ApiParser()


def consumes(*mimetypes):
    """Declare the body types a view accepts (default JSON); put it right under ``bp.route``."""

    def decorator(view):
        view._consumes = mimetypes
        return view

    return decorator


def check_content_type():
    """415 for a body whose type the endpoint does not accept."""
    if request.method not in ("POST", "PUT", "PATCH") or request.routing_exception is not None:
        return  # an unknown route or method answers 404/405, whatever the body
    if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        return
    view = current_app.view_functions.get(request.endpoint)
    accepted = getattr(view, "_consumes", ("application/json",))
    if request.mimetype not in accepted:
        raise UnsupportedMediaType(
            f"Send {' or '.join(accepted)}", {"Content-Type": [f"must be one of {list(accepted)}"]}
        )


def body_limit(config_key):
    """Cap the body at ``config[config_key]`` bytes (413 beyond); put it right under ``bp.route``."""

    def decorator(view):
        view._body_limit = config_key
        return view

    return decorator


def apply_body_limit():
    """Tighten ``request.max_content_length`` before any view decorator reads the body."""
    view = current_app.view_functions.get(request.endpoint)
    key = getattr(view, "_body_limit", None)
    if key:
        request.max_content_length = current_app.config[key]


def parse_json_body():
    """Parse a JSON body once, up front, through the checked parser (400 when unacceptable).

    Views then read the cached result, whichever parser they use, so no body reaches a
    recursive parser unchecked.
    """
    if request.method in ("POST", "PUT", "PATCH") and request.routing_exception is None \
            and request.is_json and request.get_data(cache=True):
        request.get_json()


def register_api(app, api):
    """Register every API blueprint with flask-smorest and the body checks."""
    from server.api import auth, coverage, photos, province, rules, sync, visits

    for module in (auth, sync, visits, photos, rules, coverage, province):
        api.register_blueprint(module.bp)

    from server.api import health

    app.register_blueprint(health.bp)  # /healthz and /readyz: plain JSON, outside the contract

    @app.before_request
    def _body_checks():
        if request.path.startswith("/api/"):
            apply_body_limit()
            check_content_type()
            parse_json_body()
