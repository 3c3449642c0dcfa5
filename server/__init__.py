"""The application factory: configuration → extensions → blueprints → error handlers → CLI."""
import mimetypes
from pathlib import Path

from flask import Flask

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(config=None):
    """Build a configured app; ``config`` overrides defaults and the environment."""
    from server import compression, logs, login_limits, safe_json, security
    from server.config import load_config
    from server.errors import register_error_handlers
    from server.extensions import api, init_extensions

    mimetypes.add_type("application/manifest+json", ".webmanifest")
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    load_config(app, config)
    logs.init_app(app)  # JSON log lines; the request id on every line and response
    safe_json.init_app(app)  # checked JSON parsing, always-encodable responses
    app.json.ensure_ascii = False  # Vietnamese stays readable in responses
    security.init_app(app)  # security headers, no-store on the API
    init_extensions(app)
    login_limits.init_app(app)  # one failed-login budget for the API and the console
    compression.init_app(app)  # br/gzip for JSON and the app's files, not console pages

    from server.api import register_api
    from server.web import register_web

    register_api(app, api)
    register_web(app)
    register_error_handlers(app)

    from server.services.queue import init_app as init_jobs

    init_jobs(app)  # without Redis: the photo sweeper, started by the first request

    from server.cli import register_cli

    register_cli(app)
    return app
