"""The photo job and the sweeper: idempotent, bounded attempts, and nothing left only in Redis."""
import hashlib
import os
import time
import uuid
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from jobs.photos import process_photo
from server.extensions import db
from server.models import Photo
from server.models.types import utcnow
from server.services import photos as photo_service
from tests.conftest import ENGINE, new_id, wait_for
from tests.photo_helpers import jpeg_bytes, phone_exif, photo_row as _row, png_bomb, put_photo


def _settled(photo_id):
    """The row once processing has settled (the job may run in the rq worker)."""
    row = wait_for(lambda: _row(photo_id).state != "pending" and _row(photo_id))
    assert row, f"photo {photo_id} is still pending"
    return row


def _stranded(visit_id, data, minutes_ago=60, attempts=0):
    """A pending photo whose wake-up call was lost: its file and row exist, no job is queued."""
    photo_id = uuid.uuid4()
    sha = hashlib.sha256(data).hexdigest()
    photo_service.write_atomic(photo_service.original_path(photo_id, sha), data)
    db.session.add(Photo(id=photo_id, visit_id=uuid.UUID(visit_id), sha256=sha,
                         content_type="image/jpeg", size_bytes=len(data), state="pending",
                         attempts=attempts, enqueued_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()
    return photo_id


def _files(photo_id):
    return (photo_service.photo_path(photo_id), photo_service.thumb_path(photo_id))


def test_a_second_run_of_the_job_is_a_no_op(client, member):
    headers, visit_id = member
    photo_id = new_id()
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((1000, 800)))
    assert resp.status_code == 201
    row = _settled(photo_id)
    assert row.state == "ready" and row.attempts == 1
    before = (row.processed_at, row.attempts, row.width, row.height)
    stamps = [path.stat().st_mtime_ns for path in _files(photo_id)]

    assert process_photo(photo_id) is None
    assert process_photo(photo_id) is None

    row = _row(photo_id)
    assert (row.processed_at, row.attempts, row.width, row.height) == before
    assert [path.stat().st_mtime_ns for path in _files(photo_id)] == stamps


def test_job_for_an_unknown_photo_returns_quietly(app):
    assert process_photo(new_id()) is None


def test_sweeper_processes_a_photo_whose_job_was_lost(app, runner, member):
    _, visit_id = member
    photo_id = _stranded(visit_id, jpeg_bytes((2000, 1000), exif=phone_exif(orientation=1)))
    result = runner.invoke(args=["photos", "sweep"])
    assert result.exit_code == 0, result.output
    assert "re-enqueued" in result.output and not result.output.startswith("photos: 0 ")
    row = _settled(photo_id)
    assert row.state == "ready" and (row.width, row.height) == (1600, 800)
    assert row.enqueued_at > utcnow() - timedelta(minutes=5)
    assert not photo_service.original_path(photo_id, row.sha256).exists()
    if ENGINE == "postgresql":
        _assert_worker_ran(app, photo_id)


def _assert_worker_ran(app, photo_id):
    """The job ran in the rq worker process (this test never called it)."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    connection = Redis.from_url(app.config["REDIS_URL"])
    registry = FinishedJobRegistry(queue=Queue("photos", connection=connection))
    ids = [job_id for job_id in registry.get_job_ids() if job_id.startswith(f"photo-{photo_id}-")]
    assert ids
    assert Job.fetch(ids[0], connection=connection).worker_name


def test_a_corrupted_original_is_rejected_without_hurting_the_others(runner, member):
    _, visit_id = member
    good = _stranded(visit_id, jpeg_bytes((800, 600)))
    bad = _stranded(visit_id, jpeg_bytes((800, 600)) + b"\x00")
    # Garbage written over a file that had passed the upload's checks.
    sha = _row(bad).sha256
    photo_service.original_path(bad, sha).write_bytes(b"\xff\xd8\xff\xe0 garbage " * 100)
    truncated = _stranded(visit_id, jpeg_bytes((800, 600))[:2000])
    also_good = _stranded(visit_id, jpeg_bytes((600, 800)))

    assert runner.invoke(args=["photos", "sweep"]).exit_code == 0
    for photo_id in (bad, truncated):
        row = _settled(photo_id)
        assert row.state == "rejected" and row.error, row.error
        assert not photo_service.original_path(photo_id, row.sha256).exists()
        assert not photo_service.photo_path(photo_id).exists()
    assert _settled(good).state == "ready"
    assert _settled(also_good).state == "ready"


def test_a_bomb_that_slipped_through_is_rejected_by_the_job(app, member):
    _, visit_id = member
    photo_id = _stranded(visit_id, png_bomb(7000), minutes_ago=0)
    assert process_photo(photo_id) == "rejected"
    row = _row(photo_id)
    assert row.state == "rejected" and "pixels" in row.error and row.attempts == 1


def test_the_job_gives_up_after_too_many_attempts(app, member):
    _, visit_id = member
    photo_id = _stranded(visit_id, jpeg_bytes((64, 64)), minutes_ago=0,
                         attempts=photo_service.MAX_ATTEMPTS)
    assert process_photo(photo_id) == "rejected"
    row = _row(photo_id)
    assert row.state == "rejected" and row.error == "too many attempts"
    assert row.attempts == photo_service.MAX_ATTEMPTS + 1
    assert not photo_service.original_path(photo_id, row.sha256).exists()


def test_a_missing_original_is_rejected(app, member):
    _, visit_id = member
    photo_id = _stranded(visit_id, jpeg_bytes((64, 64)), minutes_ago=0)
    photo_service.original_path(photo_id, _row(photo_id).sha256).unlink()
    assert process_photo(photo_id) == "rejected"
    assert _row(photo_id).error == "the uploaded file is missing"


def test_two_sweepers_enqueue_a_stale_photo_once(app, member, monkeypatch):
    _, visit_id = member
    photo_id = _stranded(visit_id, jpeg_bytes((64, 64)))
    calls = []
    monkeypatch.setattr(photo_service, "enqueue", lambda *args, **kw: calls.append(args[1]))
    first = photo_service.sweep_stale()
    second = photo_service.sweep_stale()
    assert str(photo_id) in calls and calls.count(str(photo_id)) == 1
    assert first["requeued"] >= 1 and second["requeued"] == 0
    assert _row(photo_id).enqueued_at > utcnow() - timedelta(minutes=1)
    # Once overdue again (the worker died too), the next sweep wakes it once more.
    later = photo_service.sweep_stale(now=utcnow() + timedelta(hours=1))
    assert later["requeued"] >= 1 and calls.count(str(photo_id)) == 2


def test_an_upload_survives_losing_its_wake_up_call(app, client, runner, member, monkeypatch):
    headers, visit_id = member
    photo_id = new_id()

    def redis_down(*args, **kwargs):
        raise RedisConnectionError("Redis is gone")

    monkeypatch.setattr(photo_service, "enqueue", redis_down)
    resp = put_photo(client, headers, visit_id, photo_id, jpeg_bytes((900, 600)))
    assert resp.status_code == 201 and resp.get_json()["state"] == "pending"
    monkeypatch.undo()
    # Nothing is queued anywhere; only the row knows. Make it overdue and sweep.
    row = _row(photo_id)
    row.enqueued_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert _row(photo_id).state == "pending"
    assert runner.invoke(args=["photos", "sweep"]).exit_code == 0
    assert _settled(photo_id).state == "ready"


def test_sweeper_deletes_originals_no_pending_photo_needs(app, member):
    _, visit_id = member
    folder = photo_service.original_path(uuid.uuid4(), "0" * 64).parent
    folder.mkdir(parents=True, exist_ok=True)
    old = time.time() - 3600
    orphan = folder / f"{uuid.uuid4()}.{'a' * 64}"  # a crash between file and row
    stray_tmp = folder / ".tmp-leftover"
    fresh = folder / f"{uuid.uuid4()}.{'b' * 64}"  # maybe an upload about to commit
    foreign = folder / "README"
    for path in (orphan, stray_tmp, fresh, foreign):
        path.write_bytes(b"x")
    for path in (orphan, stray_tmp, foreign):
        os.utime(path, (old, old))
    waiting = _stranded(visit_id, jpeg_bytes((64, 64)), minutes_ago=0)
    waiting_file = photo_service.original_path(waiting, _row(waiting).sha256)
    os.utime(waiting_file, (old, old))

    counts = photo_service.sweep_stale()
    assert counts["originals_removed"] >= 2
    assert not orphan.exists() and not stray_tmp.exists()
    assert fresh.exists() and foreign.exists() and waiting_file.exists()
    for path in (fresh, foreign):
        path.unlink()


def test_worker_command_needs_redis(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    app.extensions.pop("redis", None)
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


@pytest.mark.skipif(ENGINE != "postgresql", reason="needs Redis (PostgreSQL runs)")
def test_worker_command_sweeps_at_start(app, runner, member):
    _, visit_id = member
    photo_id = _stranded(visit_id, jpeg_bytes((700, 500)))
    result = runner.invoke(args=["worker", "--burst", "photos"])
    assert result.exit_code == 0, result.output
    assert _settled(photo_id).state == "ready"
