"""Extension singletons, bound to an app by ``init_extensions``."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from server.database import Database
from server.openapi import ContractApi

db = Database()
migrate = Migrate(render_as_batch=True)  # SQLite needs batch mode for ALTER
limiter = Limiter(key_func=get_remote_address, default_limits=[])
api = ContractApi()  # documents the contract's error shape, not flask-smorest's


def init_extensions(app):
    """Bind every extension to ``app`` in dependency order."""
    from server import models  # noqa: F401  (registers tables on the metadata for Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())))
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "Device token"}
    )
    api.spec.components.security_scheme(
        "apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
