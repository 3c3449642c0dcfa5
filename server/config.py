"""Configuration defaults; the environment is read by ``load_config`` inside ``create_app``."""
import os
from datetime import timedelta
from pathlib import Path

from server import vocab


class Defaults:
    """Settings every deployment starts from; environment and test overrides win."""

    SECRET_KEY = "dev-only-change-me"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    REDIS_URL = None
    # Seconds between the push that finds its commune's coverage up to date and the drain it
    # queues (with Redis): the pushes of those seconds share that drain.
    COVERAGE_DRAIN_DELAY_SECONDS = 5
    # Days a deletion notice (a record that left a hamlet) is kept for phones that have not
    # pulled it yet; a phone offline longer pulls its copy again from the start.
    SCOPE_EXIT_RETENTION_DAYS = 180
    # A PostgreSQL streaming replica that read-only dashboards may read from (server/replica.py).
    DATABASE_REPLICA_URL = None
    MEDIA_DIR = None  # default: <instance>/media
    # Whole-request cap; endpoints tighten it (sync push 2 MiB, photos 10 MiB).
    MAX_CONTENT_LENGTH = 11 * 1024 * 1024
    IMPORT_MAX_BYTES = 64 * 1024 * 1024  # a household registry upload (office "Nhập sổ hộ")

    TOKEN_TTL_DAYS = 30
    ARGON2_TIME_COST = 3  # argon2-cffi's defaults (RFC 9106 low-memory profile)
    ARGON2_MEMORY_KIB = 65536
    LOGIN_RATE_LIMIT = "5 per minute"  # failed attempts per username+address
    LOGIN_RATE_LIMIT_PER_ADDRESS = "30 per minute"
    RATELIMIT_STORAGE_URI = "memory://"  # REDIS_URL when set: one budget for every worker
    RATELIMIT_HEADERS_ENABLED = True
    PROVINCE_API_RATE_LIMIT = "20 per minute"  # pulls per key; a province pull costs seconds
    # server/login_limits.py gives back a successful attempt, which needs fixed windows.
    RATELIMIT_STRATEGY = "fixed-window"
    # Redis down: each process counts on its own until it is back, rather than refusing logins.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True

    # Reverse proxies in front of the app (nginx: 1) whose X-Forwarded-For/-Proto are trusted;
    # without it every client has the proxy's address, and shares its login budget.
    TRUSTED_PROXIES = 0
    LOG_FORMAT = None  # json (default), text, or off (default under TESTING); server/logs.py
    LOG_LEVEL = "INFO"
    # Responses compressed when the client accepts it (server/compression.py).
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_LEVEL = 6
    COMPRESS_BR_LEVEL = 5
    COMPRESS_MIN_SIZE = 500

    SYNC_MAX_ITEMS = vocab.PUSH_MAX_ITEMS
    SYNC_MAX_BYTES = vocab.PUSH_MAX_BYTES
    PULL_MAX_LIMIT = vocab.PULL_MAX_LIMIT
    ADULT_AGE = 18
    PAYMENT_ACCOUNT_AGE = 15

    PHOTO_MAX_BYTES = vocab.PHOTO_MAX_BYTES
    PHOTO_MAX_PIXELS = 40_000_000
    PHOTO_LONG_EDGE = 1600
    PHOTO_THUMB_EDGE = 320
    PHOTO_STALE_MINUTES = 10  # pending/processing longer than this is re-enqueued by the sweeper
    # Decoded size (width x height x bands x bytes per sample, JPEGs at the job's draft scale) an
    # upload may have. The job holds about four copies (decode, upright, RGBA, white canvas): at
    # 64 MiB (a 4096x4096 RGBA PNG) it peaks ~270 MB above the process, one job per process.
    # It admits photo-shaped JPEGs up to PHOTO_MAX_PIXELS (decoded at 1/2-1/8 scale), 8-bit RGB up
    # to 22 MP and RGBA up to 16 MP as PNG/WebP; the PWA sends 1600 px JPEGs.
    PHOTO_MAX_DECODED_BYTES = 64 * 1024 * 1024
    PHOTO_SWEEP_SECONDS = 600  # how often a web process without Redis sweeps (flask worker: 10 min)
    PHOTO_SWEEP_IN_WEB = None  # True/False; None: sweep in the web process when there is no Redis
    INPROCESS_JOBS = None  # no Redis: "thread" (off the request) or "sync"; None: sync in TESTING

    DEMO_PASSWORD = "demo-2025"

    # Office console (server/web): cookie sessions and CSRF. The cookie is out of scripts' reach
    # and not sent on cross-site POSTs; behind HTTPS set SESSION_COOKIE_SECURE=true.
    SESSION_COOKIE_NAME = "cnscd_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)  # the signed cookie's maximum age
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as its session (12 hours at most)
    WTF_CSRF_CHECK_DEFAULT = False  # server.web.session_auth checks every non-API form itself

    API_TITLE = "Tổ CNSCĐ field backend"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


_ENV_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "DATABASE_REPLICA_URL": "DATABASE_REPLICA_URL",
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "MEDIA_DIR": "MEDIA_DIR",
    "DEMO_PASSWORD": "DEMO_PASSWORD",
    "LOG_FORMAT": "LOG_FORMAT",
    "LOG_LEVEL": "LOG_LEVEL",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
}


def load_config(app, overrides=None):
    """Fill ``app.config`` from defaults, then the environment, then ``overrides``."""
    app.config.from_object(Defaults)
    for env_key, config_key in _ENV_KEYS.items():
        if os.environ.get(env_key):
            app.config[config_key] = os.environ[env_key]
    if os.environ.get("SESSION_COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = \
            os.environ["SESSION_COOKIE_SECURE"].strip().lower() in ("1", "true", "yes", "on")
    app.config.update(overrides or {})

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or f"sqlite:///{instance / 'cnscd.db'}"
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    app.config.setdefault("MEDIA_DIR", None)
    app.config["MEDIA_DIR"] = str(app.config["MEDIA_DIR"] or instance / "media")
    if app.config["REDIS_URL"] and "RATELIMIT_STORAGE_URI" not in (overrides or {}):
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]

    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        import sqlean  # SQLite build that can load SpatiaLite; the stdlib one here cannot

        options.setdefault("module", sqlean)
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    else:
        options.setdefault("pool_pre_ping", True)
        # A stopped or unreachable server fails a request in seconds (503), not minutes.
        options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
    # Logged SQL errors never carry the values (names, phones) of the statement.
    options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    _replica_bind(app, uri, options)


def _replica_bind(app, uri, options):
    """The replica as a Flask-SQLAlchemy bind with the primary's engine options."""
    replica = app.config.get("DATABASE_REPLICA_URL")
    if not replica:
        return
    if replica.startswith("postgres://"):
        replica = "postgresql://" + replica[len("postgres://"):]
    if not (uri.startswith("postgresql") and replica.startswith("postgresql")):
        raise RuntimeError("DATABASE_REPLICA_URL needs PostgreSQL for it and for DATABASE_URL")
    from server.replica import REPLICA_BIND

    binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    binds[REPLICA_BIND] = {**options, "url": replica}
    app.config["SQLALCHEMY_BINDS"] = binds
