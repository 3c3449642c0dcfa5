"""PUT/GET of visit photos: idempotency, limits, validation, scope, and what processing leaves."""
import io
import threading
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Photo
from server.services import photos as photo_service
from tests.conftest import ENGINE, new_id, wait_for
from tests.factories import login
from tests.photo_helpers import (
    BLUE, RED, photo_row as _row, jpeg_bytes, jpeg_markers, make_visit, phone_exif, png_bomb, png_bytes, put_photo,
    webp_bytes,
)


def _count(photo_id):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Photo)
                             .where(Photo.id == uuid.UUID(photo_id)))


def _originals(photo_id):
    return list((photo_service._media("originals")).glob(f"{photo_id}.*"))


def _ready(photo_id):
    """The row once processing has settled (the job may run in the rq worker)."""
    row = wait_for(lambda: (_row(photo_id).state != "pending") and _row(photo_id))
    assert row, f"photo {photo_id} is still pending"
    return row


def _url(visit_id, photo_id, suffix=""):
    return f"/api/v1/visits/{visit_id}/photos/{photo_id}{suffix}"


def _close(a, b, tolerance=40):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_jpeg_with_gps_is_stored_rotated_bounded_and_stripped(client, member):
    headers, visit_id = member
    photo_id = new_id()
    original = jpeg_bytes((3000, 2000), exif=phone_exif(orientation=6),
                          comment=b"PhoneMaker comment")
    assert b"PhoneMaker" in original and b"Exif" in original

    resp = put_photo(client, headers, visit_id, photo_id, original)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"id", "visit_id", "state", "sha256", "width", "height"}
    assert body["id"] == photo_id and body["visit_id"] == visit_id
    assert body["state"] in ("pending", "ready")
    assert len(body["sha256"]) == 64

    row = _ready(photo_id)
    assert row.state == "ready" and row.error is None and row.attempts == 1
    assert (row.width, row.height) == (1067, 1600)  # orientation 6: portrait once upright
    assert _originals(photo_id) == []  # the original (with its GPS) does not outlive processing

    got = client.get(_url(visit_id, photo_id), headers=headers)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert "private" in got.headers["Cache-Control"]
    data = got.data
    for secret in (b"Exif", b"PhoneMaker", b"PhoneModel", b"http://ns.adobe.com"):
        assert secret not in data
    assert set(jpeg_markers(data)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}  # no APP1/COM
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and not img.getexif() and "comment" not in img.info
    assert img.size == (1067, 1600) and max(img.size) <= 1600
    # The stored top-left quadrant was red; turned 90° clockwise it is now top-right.
    rgb = img.convert("RGB")
    assert _close(rgb.getpixel((img.width - 50, 50)), RED)
    assert _close(rgb.getpixel((50, 50)), BLUE)

    thumb = client.get(_url(visit_id, photo_id, "/thumb"), headers=headers)
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    small = Image.open(io.BytesIO(thumb.data))
    assert max(small.size) <= 320 and small.height > small.width and not small.getexif()
    assert b"Exif" not in thumb.data and b"PhoneMaker" not in thumb.data

    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "photo.upload",
                                                       AuditEntry.entity_id == photo_id))
    assert audit is not None and audit.details["sha256"] == body["sha256"]


@pytest.mark.parametrize("content_type, data, size", [
    ("image/png", png_bytes((800, 600), transparent=True), (800, 600)),
    ("image/webp", webp_bytes((2400, 1200), exif=phone_exif(orientation=1)), (1600, 800)),
])
def test_png_and_webp_are_accepted_and_reencoded_as_jpeg(client, member, content_type, data, size):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, data, content_type=content_type)
    assert resp.status_code == 201, resp.get_json()
    row = _ready(photo_id)
    assert row.state == "ready" and (row.width, row.height) == size
    assert row.content_type == content_type
    got = client.get(_url(visit_id, photo_id), headers=headers)
    img = Image.open(io.BytesIO(got.data))
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == size
    assert not img.getexif() and b"PhoneMaker" not in got.data
    if content_type == "image/png":  # transparency is flattened on white, not black
        assert _close(img.getpixel((img.width - 10, img.height - 10)), (255, 255, 255))


def test_identical_retry_is_200_with_one_row(client, member):
    headers, visit_id = member
    photo_id, data = new_id(), jpeg_bytes((640, 480))
    first = put_photo(client, headers, visit_id, photo_id, data)
    assert first.status_code == 201
    _ready(photo_id)
    again = put_photo(client, headers, visit_id, photo_id, data)
    assert again.status_code == 200
    assert again.get_json()["sha256"] == first.get_json()["sha256"]
    assert again.get_json()["state"] == "ready"
    assert _count(photo_id) == 1
    assert _originals(photo_id) == []  # a retry after processing writes nothing back


def test_other_bytes_or_other_visit_under_the_same_id_is_409(client, world, member):
    headers, visit_id = member
    photo_id = new_id()
    assert put_photo(client, headers, visit_id, photo_id, jpeg_bytes((640, 480))).status_code == 201
    sha = _row(photo_id).sha256
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((640, 481)))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "conflict"
    other_visit = make_visit(client, headers, world.hamlets[0].id)
    resp = put_photo(client, headers, other_visit, photo_id, jpeg_bytes((640, 480)))
    assert resp.status_code == 409
    assert _count(photo_id) == 1 and _row(photo_id).sha256 == sha


def _race(app, headers, visit_id, photo_id, winner_bytes, loser_bytes, monkeypatch):
    """Let another request insert the same id between our check and our insert."""
    real_check = photo_service._check_image
    answers = {}

    def check_then_lose(data):
        if not answers:  # only the first request (ours) lets the other one in
            answers["started"] = True
            thread = threading.Thread(target=lambda: answers.setdefault("winner", put_photo(
                app.test_client(), headers, visit_id, photo_id, winner_bytes).status_code))
            thread.start()
            thread.join()
        return real_check(data)

    monkeypatch.setattr(photo_service, "_check_image", check_then_lose)
    loser = put_photo(app.test_client(), headers, visit_id, photo_id, loser_bytes)
    return answers["winner"], loser.status_code


def test_racing_identical_uploads_end_with_one_row(app, member, monkeypatch):
    headers, visit_id = member
    photo_id, data = new_id(), jpeg_bytes((640, 480))
    assert _race(app, headers, visit_id, photo_id, data, data, monkeypatch) == (201, 200)
    assert _count(photo_id) == 1
    assert _ready(photo_id).state == "ready"
    assert wait_for(lambda: _originals(photo_id) == [])


def test_racing_different_uploads_keep_the_winner(app, member, monkeypatch):
    headers, visit_id = member
    photo_id, winner, loser = new_id(), jpeg_bytes((640, 480)), jpeg_bytes((480, 640))
    assert _race(app, headers, visit_id, photo_id, winner, loser, monkeypatch) == (201, 409)
    row = _ready(photo_id)
    assert row.state == "ready" and (row.width, row.height) == (640, 480)
    assert _count(photo_id) == 1
    assert wait_for(lambda: _originals(photo_id) == [])


def test_over_the_size_limit_is_413_and_stores_nothing(app, client, member, monkeypatch):
    headers, visit_id = member
    photo_id = new_id()
    too_big = b"\xff\xd8" + b"\x00" * (app.config["PHOTO_MAX_BYTES"] - 1)
    resp = put_photo(client, headers, visit_id, photo_id, too_big)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "payload_too_large"
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2000)
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((640, 480)))
    assert resp.status_code == 413
    assert _count(photo_id) == 0 and _originals(photo_id) == []


@pytest.mark.parametrize("data", [b"hello, this is not a picture\n" * 50,
                                  jpeg_bytes((640, 480))[:300],
                                  b"GIF89a" + b"\x00" * 100])
def test_bytes_that_are_not_an_image_are_422_and_store_nothing(client, member, data):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, data)
    assert resp.status_code == 422, resp.get_json()
    assert "body" in resp.get_json()["error"]["fields"]
    assert _count(photo_id) == 0 and _originals(photo_id) == []


@pytest.mark.parametrize("side", [7000, 20000])  # over our limit / over Pillow's bomb limit
def test_decompression_bomb_is_422(client, member, side):
    headers, visit_id = member
    photo_id, bomb = new_id(), png_bomb(side)
    assert len(bomb) < 200_000
    resp = put_photo(client, headers, visit_id, photo_id, bomb, content_type="image/png")
    assert resp.status_code == 422
    assert "pixels" in resp.get_json()["error"]["fields"]["body"][0]
    assert _count(photo_id) == 0 and _originals(photo_id) == []


def test_pixel_limit_is_configurable(app, client, member, monkeypatch):
    headers, visit_id = member
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 1_000_000)
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((1200, 1000)))
    assert resp.status_code == 422
    assert _count(photo_id) == 0


@pytest.mark.parametrize("content_type", ["image/gif", "application/octet-stream",
                                          "application/json", "text/plain"])
def test_other_content_types_are_415(client, member, content_type):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((64, 64)),
                     content_type=content_type)
    assert resp.status_code == 415
    assert resp.get_json()["error"]["code"] == "unsupported_media_type"
    assert _count(photo_id) == 0


@pytest.mark.parametrize("consent", [None, "", "no"])
def test_without_consent_is_422(client, member, consent):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((64, 64)), consent=consent)
    assert resp.status_code == 422
    assert list(resp.get_json()["error"]["fields"]) == ["X-Consent"]
    assert _count(photo_id) == 0 and _originals(photo_id) == []


def test_malformed_photo_id_is_422(client, member):
    headers, visit_id = member
    resp = put_photo(client, headers, visit_id, "not-a-uuid", jpeg_bytes((64, 64)))
    assert resp.status_code == 422 and "photo_id" in resp.get_json()["error"]["fields"]


def test_other_communes_visit_is_out_of_scope_and_unknown_visit_is_404(
        client, world, other_world, member):
    headers, _ = member
    foreign_headers = login(client, other_world.users["member"])
    foreign_visit = make_visit(client, foreign_headers, other_world.hamlets[0].id)
    photo_id, data = new_id(), jpeg_bytes((64, 64))

    resp = put_photo(client, headers, foreign_visit, photo_id, data)
    assert resp.status_code == 403
    assert foreign_visit not in resp.get_data(as_text=True)
    assert put_photo(client, headers, new_id(), photo_id, data).status_code == 404
    assert put_photo(client, headers, "nope", photo_id, data).status_code == 404
    assert _count(photo_id) == 0 and _originals(photo_id) == []

    # The owner's photo cannot be read from the other commune either.
    assert put_photo(client, foreign_headers, foreign_visit, photo_id, data).status_code == 201
    _ready(photo_id)
    assert client.get(_url(foreign_visit, photo_id), headers=headers).status_code == 403
    assert client.get(_url(foreign_visit, photo_id, "/thumb"), headers=headers).status_code == 403
    assert client.get(_url(foreign_visit, photo_id), headers=foreign_headers).status_code == 200


def test_same_communes_other_team_and_roles(client, world, member):
    headers, visit_id = member
    photo_id, data = new_id(), jpeg_bytes((64, 64))
    # member2 works in the other hamlet of the same commune.
    other_team = login(client, world.users["member2"])
    assert put_photo(client, other_team, visit_id, photo_id, data).status_code == 403
    for role in ("province_analyst", "admin"):
        assert put_photo(client, login(client, world.users[role]), visit_id, photo_id,
                         data).status_code == 403
    assert put_photo(client, {}, visit_id, photo_id, data).status_code == 401
    # The team lead and the commune officer may add photos and read them.
    assert put_photo(client, login(client, world.users["team_lead"]), visit_id, photo_id,
                     data).status_code == 201
    _ready(photo_id)
    officer = login(client, world.users["commune_officer"])
    assert client.get(_url(visit_id, photo_id), headers=officer).status_code == 200


def test_get_answers_for_unknown_pending_and_rejected_photos(client, member):
    headers, visit_id = member
    missing = client.get(_url(visit_id, new_id()), headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"

    pending = Photo(id=uuid.uuid4(), visit_id=uuid.UUID(visit_id), sha256="0" * 64,
                    content_type="image/jpeg", size_bytes=1, state="pending", attempts=0)
    rejected = Photo(id=uuid.uuid4(), visit_id=uuid.UUID(visit_id), sha256="1" * 64,
                     content_type="image/jpeg", size_bytes=1, state="rejected", attempts=1,
                     error="not a JPEG, PNG or WebP image")
    db.session.add_all([pending, rejected])
    db.session.commit()
    for suffix in ("", "/thumb"):
        resp = client.get(_url(visit_id, pending.id, suffix), headers=headers)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "photo_pending"
        resp = client.get(_url(visit_id, rejected.id, suffix), headers=headers)
        assert resp.status_code == 422
        assert resp.get_json()["error"]["code"] == "photo_rejected"
        assert "not a JPEG" in resp.get_json()["error"]["message"]


def test_openapi_documents_the_photo_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/visits/{visit_id}/photos/{photo_id}"]
    assert set(path["put"]["requestBody"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert {"201", "200"} <= set(path["put"]["responses"])
    assert "image/jpeg" in path["get"]["responses"]["200"]["content"]


@pytest.mark.skipif(ENGINE != "postgresql", reason="the rq worker runs only on PostgreSQL")
def test_upload_is_processed_by_the_real_worker(client, member):
    from redis import Redis
    from rq.job import Job

    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((2000, 1500)))
    assert resp.status_code == 201 and resp.get_json()["state"] == "pending"
    assert _ready(photo_id).state == "ready"  # nobody in this process ran the job
    job = Job.fetch(f"photo-{photo_id}", connection=Redis.from_url(client.application
                                                                  .config["REDIS_URL"]))
    assert job.get_status() == "finished" and job.worker_name
