"""A withdrawn consent leaves no trace: not in pull, not in visits, not in any table or file."""
import json
import random
import re
import string
import time
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import JSON, String, Text, select

from server.database import Base, truncate_wal
from server.extensions import db
from server.models import AuditEntry, Household
from server.services import photo_files
from server.services.consent import REDACTED, Eraser
from tests.conftest import ENGINE, new_id, wait_for
from tests.factories import login
from tests.photo_helpers import jpeg_bytes, photo_row, put_photo
from tests.sync_helpers import VN, household, pull_all, push, resident, statuses, visit

LETTERS = "bcdfghklmnpqrstvx"


def _fold(text):
    """Lower case without diacritics, whitespace collapsed: how a leak could be written."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").casefold().split())


class Person:
    """A resident with a name and phone no other test uses (PostgreSQL's database is shared)."""

    def __init__(self):
        self.token = "".join(random.choices(LETTERS, k=7)).capitalize()
        self.name = f"Đặng Thị Ánh {self.token}"
        self.national = "98" + "".join(random.choices(string.digits, k=7))
        self.phone = "0" + self.national  # the form a member types
        self.e164 = "+84" + self.national

    def written_forms(self):
        """The name and phone as a member might write them in a note."""
        n = self.national
        return [self.name, self.name.upper(), _fold(self.name).title(), self.e164, self.phone,
                f"0{n[:3]} {n[3:6]} {n[6:]}", f"0{n[:3]}.{n[3:6]}.{n[6:]}",
                f"+84 {n[:3]} {n[3:6]} {n[6:]}"]

    def leaks(self, text):
        """True if ``text`` holds the name (any case/diacritics) or the phone (any writing)."""
        if not text:
            return False
        if _fold(self.name) in _fold(text) or self.token.lower() in text.lower():
            return True
        return re.search(r"\D{0,4}".join(self.national), text) is not None

    def leaks_bytes(self, data):
        """True if raw file bytes hold the name (UTF-8) or the phone digits."""
        lower = data.lower()
        if self.name.encode() in data or self.token.lower().encode() in lower:
            return True
        return re.search(rb"\D{0,4}".join(d.encode() for d in self.national), data) is not None


def _notes(person):
    return "Đã gặp " + ", ".join(person.written_forms()) + "; hẹn quay lại."


def _world_with_head(client, world, person, **household_data):
    """A household headed by ``person``, who is also a resident; visits that mention them."""
    member = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name=person.name, phone=person.phone,
                  address=f"Tổ 3, nhà bà {person.name.upper()}", **household_data)
    r = resident(h["id"], full_name=person.name, phone=person.phone)
    other = resident(h["id"], full_name="Lương Văn Tùng", phone=None)
    when = datetime.now(VN) - timedelta(hours=3)
    v1 = visit(h["id"], when=when, outcome="partial", notes=_notes(person),
               follow_up_on=(when + timedelta(days=7)).date().isoformat(),
               services=[{"code": "KHAC", "resident_id": r["id"], "result": "done",
                          "detail": f"gọi {person.phone} cho {person.name}"}])
    v2 = visit(h["id"], when=when + timedelta(hours=1), outcome="not_home",
               notes=f"Nhắn {_fold(person.name)} qua số {person.e164}", follow_up_on=None)
    body = push(client, member, [h, r, other, v1, v2])[1]
    assert statuses(body) == ["created"] * 5, body
    return member, h, r, other, (v1, v2)


def _withdraw(client, headers, r, base_version=1):
    item = resident(r["data"]["household_id"], item_id=r["id"], base_version=base_version,
                    given=False)
    status, body = push(client, headers, [item])
    assert status == 200 and statuses(body) == ["updated"], body
    return body


def _text_values():
    """Every string and JSON value of every table, as text (a raw scan of the database)."""
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                yield f"{table.name}.{column.name}", text


def _database_leaks(person):
    db.session.rollback()  # a fresh snapshot
    return sorted({where for where, text in _text_values() if person.leaks(text)})


def _file_leaks(person):
    """Which of the SQLite database file and its WAL hold the person's data."""
    path = Path(db.engine.url.database)
    found = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists() and person.leaks_bytes(candidate.read_bytes()):
            found.append(candidate.name)
    return found


def test_eraser_finds_every_writing_and_nothing_else():
    person = Person()
    eraser = Eraser(person.name, person.e164)
    for form in person.written_forms():
        assert eraser.redact(f"gặp {form}, xong") == f"gặp {REDACTED}, xong", form
    other = f"Đặng Thị Ánh {person.token}a, số 0{person.national}9 và 1{person.national}"
    assert eraser.redact(other) is other  # a longer name, longer digit runs: someone else
    decomposed = unicodedata.normalize("NFD", f"bà {person.name}!")
    assert eraser.redact(decomposed) == f"bà {REDACTED}!"
    spaced = person.name.replace(" ", "  \u00a0")
    assert eraser.redact(spaced) == REDACTED


def test_withdrawn_head_is_nowhere_the_app_serves(client, world):
    person = Person()
    member, h, r, other, (v1, v2) = _world_with_head(client, world, person)
    lead = login(client, world.users["team_lead"], device_id="lead-phone")
    before, lead_cursor, _ = pull_all(client, lead)
    assert any(person.leaks(json.dumps(c, ensure_ascii=False)) for c in before)
    assert _database_leaks(person)
    if ENGINE == "sqlite":
        db.session.rollback()
        assert truncate_wal(db.engine)  # the name is now in the database file, not only the WAL

    _withdraw(client, member, r)

    if ENGINE == "sqlite":
        assert _file_leaks(person) == []
    assert _database_leaks(person) == []
    # Another member of the hamlet (from their cursor and from scratch), and the same member.
    changes, _, _ = pull_all(client, lead, cursor=lead_cursor)
    kinds = {c["type"] for c in changes}
    assert {"household", "resident", "followup"} <= kinds
    for headers in (lead, member):
        everything, _, _ = pull_all(client, headers)
        assert not person.leaks(json.dumps(everything, ensure_ascii=False))
        (kept,) = [c for c in everything if c["id"] == other["id"]]
        assert kept["data"]["full_name"] == "Lương Văn Tùng"  # the other resident keeps theirs
    assert not person.leaks(json.dumps(changes, ensure_ascii=False))
    shown = client.get("/api/v1/visits", query_string={"household_id": h["id"]}, headers=lead)
    assert shown.status_code == 200
    assert not person.leaks(shown.get_data(as_text=True))
    assert REDACTED in shown.get_json()["visits"][0]["notes"]

    (house,) = [c for c in changes if c["type"] == "household"]
    assert house["version"] == 2
    assert house["data"]["head_name"] is None and house["data"]["phone"] is None
    assert house["data"]["address"] == f"Tổ 3, nhà bà {REDACTED}"
    (followup,) = [c for c in changes if c["type"] == "followup"]
    assert followup["data"]["note"].startswith(f"Đã gặp {REDACTED}, {REDACTED}")


def test_withdrawal_audit_holds_no_personal_data_and_retries_stay_duplicates(client, world):
    person = Person()
    member, h, r, other, visits = _world_with_head(client, world, person)
    _withdraw(client, member, r, base_version=7)  # a withdrawal is honoured on a stale base

    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "consent.withdraw", AuditEntry.entity_id == r["id"])).one()
    assert not person.leaks(json.dumps(entry.details, ensure_ascii=False))
    assert entry.details["erased"] == {"households": 1, "visits": 2, "followups": 1,
                                       "service_lines": 1, "photos": 0,
                                       "audit_comments": 0}
    # The phone's outbox may still send the originals: nothing is stored again.
    again = push(client, member, [h, *visits])[1]
    assert statuses(again) == ["duplicate"] * 3
    assert _database_leaks(person) == []
    # A stale edit of the household (made before the phone pulled) is a conflict, not a write.
    stale = household(world.hamlets[0].id, item_id=h["id"], base_version=1,
                      head_name=person.name, members_count=5)
    conflict = push(client, member, [stale])[1]["results"][0]
    assert conflict["status"] == "conflict" and conflict["server"]["data"]["head_name"] is None


def test_withdrawal_of_someone_else_keeps_the_head(client, world):
    head, person = Person(), Person()
    member = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name=head.name, phone=head.phone)
    r = resident(h["id"], full_name=person.name, phone=person.phone)
    v = visit(h["id"], notes=f"{head.name} và {person.name} ({person.phone})")
    push(client, member, [h, r, v])
    _withdraw(client, member, r)

    db.session.expire_all()
    row = db.session.get(Household, UUID(h["id"]))
    assert (row.head_name, row.phone, row.version) == (head.name, head.e164, 1)
    assert _database_leaks(person) == []
    notes = client.get("/api/v1/visits", query_string={"household_id": h["id"]},
                       headers=member).get_json()["visits"][0]["notes"]
    assert notes == f"{head.name} và {REDACTED} ({REDACTED})"


def test_the_household_phone_goes_when_it_is_the_residents(client, world):
    person = Person()
    member = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name="Lương Văn Tùng", phone=person.phone)
    r = resident(h["id"], full_name=person.name, phone=person.phone)
    push(client, member, [h, r])
    _withdraw(client, member, r)
    db.session.expire_all()
    row = db.session.get(Household, UUID(h["id"]))
    assert (row.head_name, row.phone, row.version) == ("Lương Văn Tùng", None, 2)


def test_withdrawal_in_the_push_that_created_everything(client, world):
    # The fast path writes new rows at the end of the push: those must be scrubbed too.
    person = Person()
    member = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name=person.name, phone=person.phone)
    r = resident(h["id"], full_name=person.name, phone=person.phone)
    soon = (datetime.now(VN) + timedelta(days=7)).date().isoformat()
    v = visit(h["id"], notes=_notes(person), outcome="partial", follow_up_on=soon,
              services=[{"code": "KHAC", "resident_id": r["id"], "result": "done",
                         "detail": person.name}])
    withdraw = resident(h["id"], item_id=r["id"], base_version=1, given=False)
    body = push(client, member, [h, r, v, withdraw])[1]
    assert statuses(body) == ["created", "created", "created", "updated"], body
    assert _database_leaks(person) == []
    if ENGINE == "sqlite":
        assert _file_leaks(person) == []


@pytest.mark.skipif(ENGINE != "sqlite", reason="the WAL is SQLite's")
def test_a_busy_wal_does_not_fail_the_withdrawal(client, world):
    person = Person()
    member, h, r, other, visits = _world_with_head(client, world, person)
    reader = db.engine.raw_connection()
    try:
        cur = reader.cursor()
        cur.execute("BEGIN")
        cur.execute("SELECT count(*) FROM households").fetchone()  # holds an old snapshot
        started = time.monotonic()
        _withdraw(client, member, r)
        assert time.monotonic() - started < 15
    finally:
        reader.rollback()
        reader.close()
    assert _database_leaks(person) == []


@pytest.mark.skipif(ENGINE != "sqlite", reason="a SQLite pragma")
def test_every_sqlite_connection_zeroes_what_it_frees(app):
    connections = [db.engine.raw_connection() for _ in range(3)]
    try:
        for conn in connections:
            assert conn.cursor().execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        for conn in connections:
            conn.close()


def test_withdrawal_erases_the_photos_of_visits_naming_the_resident(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    r = resident(h["id"])
    v = visit(h["id"], services=[{"code": "VNEID", "resident_id": r["id"], "result": "done"}])
    assert statuses(push(client, headers, [h, r, v])[1]) == ["created"] * 3
    photo_id = new_id()
    assert put_photo(client, headers, v["id"], photo_id, jpeg_bytes((400, 300))).status_code == 201
    assert wait_for(lambda: photo_row(photo_id).state == "ready")
    url = f"/api/v1/visits/{v['id']}/photos/{photo_id}"
    assert client.get(url, headers=headers).status_code == 200

    withdraw = resident(h["id"], item_id=r["id"], base_version=1, given=False)
    assert statuses(push(client, headers, [withdraw])[1]) == ["updated"]
    assert photo_row(photo_id).state == "rejected"
    assert client.get(url, headers=headers).status_code == 422
    assert client.get(url + "/thumb", headers=headers).status_code == 422
    assert not photo_files.photo_path(UUID(photo_id)).exists()
    assert not photo_files.thumb_path(UUID(photo_id)).exists()


def test_withdrawal_scrubs_reviewers_comments_too(client, world):
    from server.auth import principal_for
    from server.models import User, Visit
    from server.services import review

    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id, head_name="Phạm Văn Khoa")
    r = resident(h["id"], full_name="Phạm Thị Quyên", phone="0903123456")
    v = visit(h["id"], services=[{"code": "VNEID", "resident_id": r["id"], "result": "done"}])
    assert statuses(push(client, headers, [h, r, v])[1]) == ["created"] * 3
    officer = db.session.scalars(select(User).where(
        User.username == world.users["commune_officer"])).one()
    review.decide(principal_for(officer), v["id"], "has_issues",
                  "Gọi lại cho Phạm Thị Quyên số 0903 123 456")
    withdraw = resident(h["id"], item_id=r["id"], base_version=1, given=False)
    assert statuses(push(client, headers, [withdraw])[1]) == ["updated"]
    db.session.rollback()
    assert db.session.get(Visit, UUID(v["id"])).review_comment == \
        f"Gọi lại cho {REDACTED} số {REDACTED}"
    comments = [e.details.get("comment") for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_id == v["id"], AuditEntry.action.like("visit.review.%")))]
    assert comments == [f"Gọi lại cho {REDACTED} số {REDACTED}"]
