"""Visit photos: the upload's checks and storage, the processing states, serving, the sweeper.

The ``Photo`` row is the record of where processing stands; Redis only carries the wake-up
call, so a job lost with a dead worker or a flushed Redis is found again by ``sweep_stale``.
Files are named by the row: ``originals/<id>.<sha256>`` (the upload as sent, GPS and all:
removed once processed), ``photos/<id>.jpg`` and ``thumbs/<id>.jpg`` (re-encoded, no metadata).
"""
import hashlib
import io
import logging
import os
import re
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from flask import current_app
from PIL import Image
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMediaType
from server.extensions import db
from server.models import Photo, Visit
from server.models.types import utcnow
from server.services import audit
from server.services.queue import enqueue

log = logging.getLogger(__name__)

CONTENT_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
FORMATS = tuple(CONTENT_TYPES.values())  # the only decoders Pillow may use on an upload
MIME_OF = {fmt: mime for mime, fmt in CONTENT_TYPES.items()}
MAX_ATTEMPTS = 5
JOB = "jobs.photos.process_photo"
_ORIGINAL_NAME = re.compile(r"^([0-9a-f-]{36})\.([0-9a-f]{64})$")
_TMP_PREFIX = ".tmp-"


class BadImage(ValueError):
    """Bytes that are not an image we accept; the message says why."""


# Files ---------------------------------------------------------------------------------------

def _media(kind):
    return Path(current_app.config["MEDIA_DIR"]) / kind


def original_path(photo_id, sha256):
    """Where the upload waits for processing; the digest keeps racing different bytes apart."""
    return _media("originals") / f"{photo_id}.{sha256}"


def photo_path(photo_id):
    """The processed image."""
    return _media("photos") / f"{photo_id}.jpg"


def thumb_path(photo_id):
    """The processed thumbnail."""
    return _media("thumbs") / f"{photo_id}.jpg"


def write_atomic(path, data):
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)  # mkstemp's 0600 would lock out a web server in the worker's group
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_image(source, max_pixels):
    """Open with our decoders only and refuse too many pixels before anything is decoded."""
    try:
        img = Image.open(source, formats=FORMATS)
    except Image.DecompressionBombError as err:
        raise BadImage(f"too many pixels ({err})") from None
    except Exception:  # noqa: BLE001 - any parser failure on untrusted bytes means "not an image"
        raise BadImage("not a JPEG, PNG or WebP image") from None
    width, height = img.size
    if width < 1 or height < 1 or width * height > max_pixels:
        img.close()
        raise BadImage(f"{width}x{height} pixels is over the limit of {max_pixels}")
    return img


def _check_image(data):
    """The real content type of ``data``; 422 unless a header-level look finds a sane image."""
    try:
        with open_image(io.BytesIO(data), current_app.config["PHOTO_MAX_PIXELS"]) as img:
            fmt = img.format
            try:
                img.verify()  # structure and checksums (PNG CRCs); no pixels are decoded
            except Exception:  # noqa: BLE001 - as above
                raise BadImage("the image data is damaged") from None
    except BadImage as err:
        raise Invalid("The body is not an acceptable image", {"body": [str(err)]}) from None
    return MIME_OF[fmt]


# Upload and read -----------------------------------------------------------------------------

def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _visit_in_scope(principal, visit_id):
    visit_uuid = _uuid(visit_id)
    visit = db.session.get(Visit, visit_uuid) if visit_uuid else None
    if visit is None:
        raise NotFound("No such visit")
    if not principal.can_see_hamlet(visit.hamlet_id):
        raise Forbidden("This visit is outside your hamlets")
    return visit


def _same_upload(existing, visit, digest):
    if existing.visit_id != visit.id or existing.sha256 != digest:
        raise Conflict("This photo id is already stored with other content",
                       {"photo_id": ["already used for a different image or visit"]})
    return existing


def upload(principal, visit_id, photo_id, content_type, data, consent):
    """Store an uploaded photo and queue its processing; returns ``(photo, created)``.

    An identical retry returns the stored row (``created`` False); other bytes under the id are 409.
    """
    if (consent or "").strip().lower() != "yes":
        raise Invalid("The resident's consent to the photo is required",
                      {"X-Consent": ["must be 'yes'"]})
    if content_type not in CONTENT_TYPES:
        raise UnsupportedMediaType(f"Send one of {', '.join(CONTENT_TYPES)}",
                                   {"Content-Type": [f"must be one of {list(CONTENT_TYPES)}"]})
    photo_uuid = _uuid(photo_id)
    if photo_uuid is None:
        raise Invalid("The photo id must be a UUID", {"photo_id": ["not a valid UUID"]})
    visit = _visit_in_scope(principal, visit_id)
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise TooLarge(f"A photo may have at most {current_app.config['PHOTO_MAX_BYTES']} bytes")
    if not data:
        raise Invalid("The body is empty", {"body": ["the image bytes are missing"]})
    digest = hashlib.sha256(data).hexdigest()

    existing = db.session.get(Photo, photo_uuid)
    if existing is not None:
        return _same_upload(existing, visit, digest), False
    visit_uuid = visit.id
    db.session.rollback()  # hold no transaction (SQLite: no write lock) while we check and write
    real_type = _check_image(data)

    # The file goes first: a committed row always has its original, and a crash before the commit
    # leaves only a file that the sweeper removes.
    path = original_path(photo_uuid, digest)
    write_atomic(path, data)
    now = utcnow()
    photo = Photo(id=photo_uuid, visit_id=visit_uuid, sha256=digest, content_type=real_type,
                  size_bytes=len(data), state="pending", attempts=0, enqueued_at=now,
                  uploaded_by_id=principal.user.id if principal.user else None)
    db.session.add(photo)
    audit.record(principal.actor, "photo.upload", "photo", photo_uuid,
                 {"visit_id": str(visit_uuid), "sha256": digest, "bytes": len(data)},
                 user_id=principal.user.id if principal.user else None)
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent upload of the same id won the insert: answer as its retry would be answered.
        db.session.rollback()
        log.info("photo %s: a concurrent upload stored this id first", photo_uuid)
        existing = db.session.get(Photo, photo_uuid)
        if existing is None:
            path.unlink(missing_ok=True)
            raise
        if existing.sha256 != digest or existing.state != "pending":
            # Ours is either other bytes (a name nobody needs) or a copy re-created after the
            # winner's job had already processed and removed it.
            path.unlink(missing_ok=True)
        return _same_upload(existing, visit, digest), False
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    _wake(photo.id, job_id=f"photo-{photo.id}")
    return photo, True


def _wake(photo_id, job_id):
    """Enqueue processing; a failure only delays it, since the row stays pending for the sweeper."""
    try:
        enqueue(JOB, str(photo_id), queue="photos", job_id=job_id)
    except Exception:  # noqa: BLE001 - the upload is stored; the sweeper retries the wake-up
        db.session.rollback()
        log.exception("photo %s: stored but not enqueued; the sweeper will retry", photo_id)
        return False
    return True


def processed_file(principal, visit_id, photo_id, thumbnail=False):
    """The path of a ready photo (or its thumbnail) of a visit in the caller's scope.

    404 (``photo_pending``) while processing; 422 (``photo_rejected``) if processing refused it.
    """
    visit = _visit_in_scope(principal, visit_id)
    photo_uuid = _uuid(photo_id)
    photo = db.session.get(Photo, photo_uuid) if photo_uuid else None
    if photo is None or photo.visit_id != visit.id:
        raise NotFound("No such photo")
    if photo.state == "pending":
        raise NotFound("The photo is still being processed", code="photo_pending")
    if photo.state == "rejected":
        raise Invalid(f"The photo was rejected: {photo.error}", code="photo_rejected")
    path = thumb_path(photo.id) if thumbnail else photo_path(photo.id)
    if not path.is_file():
        log.error("photo %s is ready but %s is missing", photo.id, path)
        raise NotFound("The photo file is missing")
    return path


# Processing states (used by jobs.photos) ------------------------------------------------------

def start_attempt(photo_id):
    """Count one processing attempt of a pending photo; returns the row, or None if not pending."""
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.state != "pending":
        db.session.rollback()
        return None
    photo.attempts = Photo.attempts + 1  # in SQL, so concurrent attempts are all counted
    db.session.commit()
    return photo


def finish(photo_id, state, width=None, height=None, error=None):
    """Move a pending photo to ``ready``/``rejected``, drop its original; False if not pending."""
    sha256 = db.session.scalar(select(Photo.sha256).where(Photo.id == photo_id))
    moved = db.session.execute(
        update(Photo).where(Photo.id == photo_id, Photo.state == "pending")
        .values(state=state, width=width, height=height, processed_at=utcnow(),
                error=(error or None) and error[:255])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if sha256:
        # After the commit: if we die in between, the sweeper removes the file instead.
        original_path(photo_id, sha256).unlink(missing_ok=True)
    return bool(moved)


# The sweeper -----------------------------------------------------------------------------------

def sweep_stale(now=None, limit=1000):
    """Re-enqueue pending photos whose job is overdue and delete originals nothing waits for.

    Returns ``{"requeued": n, "originals_removed": n}``.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError

    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["PHOTO_STALE_MINUTES"])
    overdue = (Photo.state == "pending",
               or_(Photo.enqueued_at.is_(None), Photo.enqueued_at < cutoff))
    stale = list(db.session.scalars(
        select(Photo.id).where(*overdue).order_by(Photo.enqueued_at).limit(limit)))
    db.session.commit()
    requeued = 0
    for photo_id in stale:
        # Claim by moving enqueued_at, so sweepers running at once enqueue each photo once.
        claimed = db.session.execute(
            update(Photo).where(Photo.id == photo_id, *overdue).values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        try:
            enqueue(JOB, str(photo_id), queue="photos",
                    job_id=f"photo-{photo_id}-{int(now.timestamp())}")
        except RedisConnectionError:
            log.error("photo sweep: Redis unavailable; will retry on the next sweep")
            break
        except Exception:  # noqa: BLE001 - one broken photo must not stop the others
            db.session.rollback()
            log.exception("photo sweep: processing %s failed", photo_id)
            continue
        requeued += 1
    return {"requeued": requeued, "originals_removed": _remove_orphans(cutoff)}


def _remove_orphans(cutoff):
    """Delete originals (and stray temp files) older than ``cutoff`` that no pending row needs."""
    folder = _media("originals")
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime > cutoff.timestamp():
                continue  # maybe an upload between its write and its commit
        except FileNotFoundError:
            continue
        match = _ORIGINAL_NAME.match(path.name)
        if match:
            needed = db.session.scalar(select(Photo.id).where(
                Photo.id == uuid.UUID(match[1]), Photo.sha256 == match[2],
                Photo.state == "pending"))
            db.session.rollback()
            if needed:
                continue
        elif not path.name.startswith(_TMP_PREFIX):
            continue  # not ours: leave it
        path.unlink(missing_ok=True)
        removed += 1
    return removed
