"""Shared by the attack tests: a module's own app and database, signed-in browsers and tokens,
CSRF tokens read off pages, and a snapshot of the rows an attack must not change."""
import re
import shutil

from sqlalchemy import inspect, text

from server import create_app
from server.extensions import db
from tests.conftest import ENGINE, _config
from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
# The console each role signs in to, and a page of it that carries a form (the CSRF token).
CONSOLES = {"office": "/office/guide", "province": "/province/", "admin": "/admin/"}


def module_app(database_template, media_root, home):
    """A fresh app over a database of the module's own (a copy on SQLite, shared on PostgreSQL)."""
    url = database_template
    if ENGINE == "sqlite":
        shutil.copy(database_template, home / "module.db")
        url = f"sqlite:///{home / 'module.db'}"
    return create_app(_config(url, media_root))


def csrf_token(client, page):
    """The CSRF token of ``client``'s session, read off ``page`` as a browser would."""
    resp = client.get(page)
    match = _TOKEN.search(resp.get_data(as_text=True))
    assert match, f"no CSRF token on {page} ({resp.status_code})"
    return match.group(1)


def browser(app, username, console="office"):
    """A test client signed in to ``console`` as ``username``; its CSRF token as ``.csrf``."""
    client = app.test_client()
    token = csrf_token(client, f"/{console}/login")
    resp = client.post(f"/{console}/login", data={"username": username, "password": PASSWORD,
                                                  "csrf_token": token, "next": ""})
    assert resp.status_code == 302, (username, console, resp.status_code)
    client.csrf = csrf_token(client, CONSOLES[console])
    return client


def anonymous(app):
    """A client with a session but nobody signed in (its CSRF token is valid)."""
    client = app.test_client()
    client.csrf = csrf_token(client, "/office/login")
    return client


def bearer(client, username, device_id="attack"):
    """The Authorization header of a fresh device token of ``username``."""
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD,
                                                   "device_id": device_id})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


# Columns that change when a row is merely used (a key's last use), not when it is altered.
_USAGE_COLUMNS = {"last_used_at", "last_login_at", "last_seen_at"}


def snapshot(tables):
    """Every row of ``tables`` (usage columns left out), to compare before and after."""
    db.session.rollback()  # one transaction of our own (SQLite: one writer lock at a time)
    inspector = inspect(db.session.connection())
    names = set(inspector.get_table_names())
    rows = {}
    for table in tables:
        assert table in names, f"no table {table}"
        columns = [c["name"] for c in inspector.get_columns(table)
                   if c["name"] not in _USAGE_COLUMNS]
        quoted = ", ".join(f'"{c}"' for c in columns)
        result = db.session.execute(text(f'SELECT {quoted} FROM "{table}"'))
        rows[table] = sorted((tuple(str(v) for v in row) for row in result))
    db.session.rollback()
    return rows
