"""Photo upload hardening: bounded decoding, whole files only, no photo stranded in `pending`,
processing off the request thread, and the photo consent of every resident a visit names."""
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Photo, Resident
from server.services import photo_files
from server.services import photos as photo_service
from server.services import queue
from tests.conftest import new_id
from tests.photo_helpers import (
    jpeg_bytes, left_pending, photo_row, png_bytes, png_deep, put_photo, webp_bytes,
)
from tests.sync_helpers import household, push, resident, statuses, visit

JPEG = jpeg_bytes((800, 600))
PNG = png_bytes((300, 200))
WEBP = webp_bytes((300, 200))


def _stored(photo_id):
    """How many rows and which original files exist under ``photo_id``."""
    db.session.rollback()
    rows = db.session.scalar(select(func.count()).select_from(Photo)
                             .where(Photo.id == uuid.UUID(str(photo_id))))
    folder = photo_files.media("originals")
    return rows, sorted(folder.glob(f"{photo_id}.*")) if folder.is_dir() else []


def _eventually(predicate, timeout=30.0):
    """Poll ``predicate`` without sitting on a transaction between polls.

    On SQLite every transaction holds the write lock (BEGIN IMMEDIATE), so a poller that sleeps
    inside one starves the job and sweeper threads of this process.
    """
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = predicate()
        db.session.rollback()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _settled(photo_id):
    """The row once processing has settled (the job may run in the rq worker or a thread)."""
    row = _eventually(lambda: photo_row(photo_id).state != "pending" and photo_row(photo_id))
    assert row, f"photo {photo_id} is still pending"
    return row


def _refused(resp, photo_id, phrase, field="body"):
    assert resp.status_code == 422, resp.get_json()
    messages = resp.get_json()["error"]["fields"][field]
    assert any(phrase in message for message in messages), messages
    assert _stored(photo_id) == (0, [])
    return resp.get_json()["error"]


def _embedded(app, monkeypatch):
    """Run this test as the embedded (no Redis) deployment does, whatever the engine."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.delitem(app.extensions, "redis", raising=False)


# Decoded size ---------------------------------------------------------------------------------

def test_a_tiny_16_bit_png_that_decodes_huge_is_422_and_stores_nothing(client, member):
    headers, visit_id = member
    bomb = png_deep(6000)  # 6000x6000 = 36 MP: under PHOTO_MAX_PIXELS (40 MP), so it used to pass
    assert len(bomb) < 400_000
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, bomb, content_type="image/png")
    _refused(resp, photo_id, "decode")
    assert "16 bits" in resp.get_json()["error"]["fields"]["body"][0]


def test_the_decoded_bound_counts_what_the_job_decodes(app, client, member, monkeypatch):
    """A big JPEG decodes at 1/2..1/8 scale (draft), so it passes where a PNG of its size can't."""
    headers, visit_id = member
    monkeypatch.setitem(app.config, "PHOTO_MAX_DECODED_BYTES", 8 * 1024 * 1024)
    # 3400x2400: 24 MB as full RGB, 6 MB at the 1/2 scale the job uses for its 1600 px result.
    jpeg_id, png_id = new_id(), new_id()
    resp = put_photo(client, headers, visit_id, jpeg_id, jpeg_bytes((3400, 2400)))
    assert resp.status_code == 201, resp.get_json()
    resp = put_photo(client, headers, visit_id, png_id, png_bytes((3400, 2400)),
                     content_type="image/png")
    _refused(resp, png_id, "decode")
    assert _settled(jpeg_id).state == "ready"


# Whole files ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type, data, phrase", [
    ("image/jpeg", JPEG[:len(JPEG) // 2], "end-of-image"),
    ("image/jpeg", JPEG[:-2], "end-of-image"),
    ("image/png", PNG[:-1], "IEND"),  # Pillow's verify() reads IEND's header, not its CRC
    ("image/png", PNG[:-12], "IEND"),
    ("image/webp", WEBP[:-10], "RIFF"),
    ("image/webp", WEBP + b"\x00" * 8, "RIFF"),  # libwebp ignores bytes past the RIFF size
], ids=["jpeg-half", "jpeg-no-eoi", "png-iend-crc", "png-no-iend", "webp-cut", "webp-trailer"])
def test_an_incomplete_image_is_422_and_stores_nothing(client, member, content_type, data, phrase):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, data, content_type=content_type)
    _refused(resp, photo_id, phrase)


def test_a_jpeg_padded_after_its_end_marker_is_accepted(client, member):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, JPEG + b"\x00\x00\r\n ")
    assert resp.status_code == 201, resp.get_json()
    assert _settled(photo_id).state == "ready"


# Nothing stays pending --------------------------------------------------------------------------

@pytest.mark.parametrize("original_lost", [False, True])
def test_a_retry_finishes_a_photo_a_dead_process_left_pending(client, member, original_lost):
    headers, visit_id = member
    data = jpeg_bytes((900, 600))
    photo_id = left_pending(visit_id, data, minutes_ago=60)
    original = photo_service.original_path(photo_id, photo_row(photo_id).sha256)
    if original_lost:  # the retry carries the same bytes (same SHA-256): they stand in for it
        original.unlink()
    resp = put_photo(client, headers, visit_id, photo_id, data)
    assert resp.status_code == 200, resp.get_json()
    row = _settled(photo_id)
    assert row.state == "ready" and (row.width, row.height) == (900, 600)
    assert _eventually(lambda: not original.exists())
    assert _stored(photo_id)[0] == 1


def test_embedded_a_retry_wakes_a_pending_photo_nobody_works_on(app, client, member, monkeypatch):
    headers, visit_id = member
    _embedded(app, monkeypatch)
    data = jpeg_bytes((500, 400))
    photo_id = left_pending(visit_id, data, minutes_ago=0)  # its process died a moment ago
    resp = put_photo(client, headers, visit_id, photo_id, data)
    assert resp.status_code == 200, resp.get_json()
    assert _settled(photo_id).state == "ready"


def test_with_redis_a_retry_wakes_only_an_overdue_photo_and_only_once(app, client, member,
                                                                     monkeypatch):
    from jobs.photos import process_photo

    headers, visit_id = member
    calls = []
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # never contacted:
    monkeypatch.setattr(photo_service, "enqueue", lambda *args, **kw: calls.append(args))
    fresh_bytes, stale_bytes = jpeg_bytes((300, 200)), jpeg_bytes((200, 300))
    fresh = left_pending(visit_id, fresh_bytes, minutes_ago=1)  # its job is still in the queue
    stale = left_pending(visit_id, stale_bytes, minutes_ago=60)

    resp = put_photo(client, headers, visit_id, fresh, fresh_bytes)
    assert resp.status_code == 200 and resp.get_json()["state"] == "pending"
    assert calls == []
    for _ in range(2):  # the first retry claims the photo; the second finds it freshly queued
        resp = put_photo(client, headers, visit_id, stale, stale_bytes)
        assert resp.status_code == 200 and resp.get_json()["state"] == "pending"
    assert calls == [(photo_service.JOB, str(stale))]
    monkeypatch.undo()
    for photo_id in (fresh, stale):  # leave no pending rows in a shared database
        process_photo(photo_id)


def test_the_web_process_sweeps_at_start_and_periodically_without_redis(app, client, member,
                                                                         monkeypatch):
    headers, visit_id = member
    _embedded(app, monkeypatch)
    first = left_pending(visit_id, jpeg_bytes((700, 500)), minutes_ago=60)
    monkeypatch.setitem(app.config, "PHOTO_SWEEP_IN_WEB", True)
    monkeypatch.setitem(app.config, "PHOTO_SWEEP_SECONDS", 0.2)
    try:
        assert client.get("/api/v1/openapi.json").status_code == 200  # the process's first request
        assert queue.sweeper_running()
        assert _settled(first).state == "ready"
        later = left_pending(visit_id, jpeg_bytes((500, 700)), minutes_ago=60)
        assert _settled(later).state == "ready"  # found by a later round, with no request at all
    finally:
        db.session.rollback()  # let its current round finish (SQLite: it may wait for our lock)
        queue.stop_sweeper()
    assert not queue.sweeper_running()


def test_no_sweeper_thread_unless_asked(app, client, runner, member, monkeypatch):
    _embedded(app, monkeypatch)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert not queue.sweeper_running()  # tests ask for it explicitly
    monkeypatch.setitem(app.config, "TESTING", False)
    before = threading.active_count()
    result = runner.invoke(args=["photos", "sweep"])  # CLI commands serve no request
    assert result.exit_code == 0, result.output
    assert not queue.sweeper_running() and threading.active_count() == before
    assert queue.web_sweeper_wanted(app)  # a web process without Redis would start one …
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://redis:6379/0")
    assert not queue.web_sweeper_wanted(app)  # … with Redis, `flask worker` sweeps instead


# Off the request thread -----------------------------------------------------------------------

def test_embedded_mode_processes_photos_on_a_job_thread(app, client, member, monkeypatch):
    import jobs.photos

    headers, visit_id = member
    _embedded(app, monkeypatch)
    monkeypatch.setitem(app.config, "INPROCESS_JOBS", "thread")
    real, release, ran_on = jobs.photos.process_photo, threading.Event(), []

    def gated(photo_id):
        ran_on.append(threading.current_thread().name)
        release.wait(30)
        return real(photo_id)

    monkeypatch.setattr(jobs.photos, "process_photo", gated)
    photo_id = new_id()
    try:
        resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((2000, 1500)))
        assert resp.status_code == 201 and resp.get_json()["state"] == "pending"  # did not wait
        assert _eventually(lambda: ran_on)
    finally:
        release.set()
    assert _settled(photo_id).state == "ready"
    assert ran_on[0] != threading.current_thread().name


def test_jobs_leave_the_request_by_default_outside_tests(app, monkeypatch):
    assert queue.inprocess_mode() == "sync"  # tests run jobs inline unless they ask
    monkeypatch.setitem(app.config, "TESTING", False)
    assert queue.inprocess_mode() == "thread"


# Consent of the residents ---------------------------------------------------------------------

def _visit_naming(client, headers, hamlet_id, *purposes_per_resident):
    """Push a household, one resident per purposes tuple, and a visit naming them all."""
    h = household(hamlet_id)
    people = [resident(h["id"], consent={"given": True, "purposes": list(purposes),
                                         "at": "2025-10-05T09:10:00+07:00"})
              for purposes in purposes_per_resident]
    lines = [{"code": "VNEID", "resident_id": p["id"], "result": "done"} for p in people]
    v = visit(h["id"], services=lines + [{"code": "TMDT", "resident_id": None,
                                          "result": "in_progress"}])
    code, body = push(client, headers, [h, *people, v])
    assert code == 200 and set(statuses(body)) == {"created"}, body
    return v["id"], [p["id"] for p in people]


def test_every_resident_named_must_have_consented_to_photos(client, world, member):
    headers, _ = member
    hamlet = world.hamlets[0].id
    visit_id, _ = _visit_naming(client, headers, hamlet, ("support", "photo"), ("photo",))
    assert put_photo(client, headers, visit_id, new_id(), JPEG).status_code == 201

    visit_id, (agreed, refused) = _visit_naming(client, headers, hamlet, ("photo",),
                                                ("support", "contact"))
    photo_id = new_id()
    error = _refused(put_photo(client, headers, visit_id, photo_id, JPEG), photo_id,
                     "has not consented to photos", field="X-Consent")
    assert error["code"] == "photo_consent_missing"
    assert refused in " ".join(error["fields"]["X-Consent"])
    assert agreed not in " ".join(error["fields"]["X-Consent"])


def test_a_withdrawn_consent_blocks_new_photos(client, world, member):
    headers, _ = member
    visit_id, (resident_id,) = _visit_naming(client, headers, world.hamlets[0].id, ("photo",))
    household_id = str(db.session.get(Resident, uuid.UUID(resident_id)).household_id)
    withdrawal = resident(household_id, item_id=resident_id, base_version=1, given=False)
    code, body = push(client, headers, [withdrawal])
    assert code == 200 and statuses(body) == ["updated"], body
    photo_id = new_id()
    error = _refused(put_photo(client, headers, visit_id, photo_id, JPEG), photo_id,
                     "withdrew", field="X-Consent")
    assert error["code"] == "photo_consent_missing"


def test_a_household_level_visit_needs_only_the_header(client, world, member):
    headers, visit_id = member  # the fixture's visit names nobody
    assert put_photo(client, headers, visit_id, new_id(), JPEG, consent=None).status_code == 422
    visit_id, _ = _visit_naming(client, headers, world.hamlets[0].id)  # TMDT only
    assert put_photo(client, headers, visit_id, new_id(), JPEG).status_code == 201
