"""Checks shared by the admin services; their messages are shown to the admin as they are.

The admin services are called by the admin console only, so a refusal carries Vietnamese text
per field (``Invalid.fields``), which the pages put next to the field it is about.
"""
from marshmallow import ValidationError

from schemas.fields import clean_text
from server.errors import Invalid, NotFound
from server.extensions import db
from server.vocab import INT32_MAX, code_of

REQUIRED = "Bắt buộc nhập"


class Problems:
    """Collects per-field messages; ``raise_if_any`` refuses them all at once."""

    def __init__(self):
        self.fields = {}

    def add(self, field, message):
        self.fields.setdefault(field, []).append(message)

    def __contains__(self, field):
        return field in self.fields

    def raise_if_any(self, message="Dữ liệu chưa hợp lệ"):
        if self.fields:
            raise Invalid(message, self.fields)


def text(problems, field, value, max_length, kind="line", required=True):
    """``value`` cleaned like every text the app stores (NFC, trimmed, no control characters)."""
    try:
        cleaned = clean_text(value if value is not None else "", kind, max_length)
    except ValidationError as err:
        code = code_of(err.messages[0]) if err.messages else "invalid"
        problems.add(field, {
            "too_long": f"Không được dài quá {max_length} ký tự",
            "blank": REQUIRED,
        }.get(code, "Có ký tự không hợp lệ (ký tự điều khiển hoặc ký tự ẩn)"))
        return None
    if required and not cleaned:
        problems.add(field, REQUIRED)
    return cleaned


def refuse(field, message):
    """Refuse one field at once."""
    raise Invalid(message, {field: [message]})


def get_row(model, row_id, what="Not found"):
    """The row of ``model`` with this integer id; 404 when absent or not a possible id (an id
    beyond PostgreSQL's INTEGER would otherwise fail in the database)."""
    ok = isinstance(row_id, int) and not isinstance(row_id, bool) and 1 <= row_id <= INT32_MAX
    row = db.session.get(model, row_id) if ok else None
    if row is None:
        raise NotFound(what)
    return row
