"""Helpers of the admin console tests: sign in at /admin/login, post forms with the session's
CSRF token (read off a page, as a browser does), and read the audit log."""
import re

from flask import g
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, User
from tests.factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf(client, path="/admin/"):
    """The CSRF token of this browser's session, read off a page's form."""
    g.pop("csrf_token", None)  # Flask-WTF caches it on g, which the test's app context shares
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client, username, password=PASSWORD):
    """Post the admin sign-in form; returns the response."""
    token = csrf(client, "/admin/login")
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": token, "next": ""})


def admin(client, world):
    """Sign ``world``'s admin in on ``client``; returns the client."""
    resp = sign_in(client, world.users["admin"])
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def post(client, path, data=None, token_page="/admin/", **kwargs):
    """POST a form with a valid CSRF token of the session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, token_page)},
                       **kwargs)


def text(resp):
    """The response body as text."""
    return resp.get_data(as_text=True)


def user_id(username):
    """The id of a user."""
    return db.session.scalar(select(User.id).where(User.username == username))


def audit(action, entity_id=None):
    """The audit entries of ``action`` (on ``entity_id``), oldest first."""
    db.session.rollback()  # see what the requests committed
    query = select(AuditEntry).where(AuditEntry.action == action)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == str(entity_id))
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


def audited_by(action, username):
    """The ``action`` entries written by ``username`` (PostgreSQL's test database is shared)."""
    uid = user_id(username)
    return [e for e in audit(action) if e.actor_user_id == uid]


def assert_audited(action, entity_id, admin_username, **details):
    """Exactly one ``action`` entry on ``entity_id``, by the admin, holding ``details``."""
    entries = audit(action, entity_id)
    assert len(entries) == 1, (action, entity_id, entries)
    entry = entries[0]
    admin_id = user_id(admin_username)
    assert entry.actor == f"user:{admin_id}" and entry.actor_user_id == admin_id
    for key, value in details.items():
        assert entry.details.get(key) == value, (key, entry.details)
    return entry
