"""The application factory: configuration → extensions → blueprints → error handlers → CLI."""
import mimetypes
from pathlib import Path

from flask import Flask

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(config=None):
    """Build a configured app; ``config`` overrides defaults and the environment."""
    from server.config import load_config
    from server.errors import register_error_handlers
    from server.extensions import api, init_extensions

    mimetypes.add_type("application/manifest+json", ".webmanifest")
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    load_config(app, config)
    app.json.ensure_ascii = False  # Vietnamese stays readable in responses
    init_extensions(app)

    from server.api import register_api
    from server.web import register_web

    register_api(app, api)
    register_web(app)
    register_error_handlers(app)

    from server.cli import register_cli

    register_cli(app)
    return app
