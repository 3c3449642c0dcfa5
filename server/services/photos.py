"""Visit photos: the upload's checks and storage, the processing states, serving, the sweeper.

The ``Photo`` row is the record of where processing stands; Redis (or, without Redis, the
process's job thread) only carries the wake-up call, so a job lost with a dead worker, a dead
web process or a flushed Redis is found again by a retry of the upload or by ``sweep_stale``.
Which bytes are acceptable lives in ``photo_images``, where files live in ``photo_files``.
"""
import hashlib
import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMediaType
from server.extensions import db
from server.models import Photo, Resident, Visit, VisitService
from server.models.types import utcnow
from server.services import audit, queue
# The file helpers are also reachable as photos.* (the photo tests use them so).
from server.services.photo_files import media as _media  # noqa: F401
from server.services.photo_files import (  # noqa: F401
    original_path, photo_path, remove_orphans, thumb_path, write_atomic,
)
from server.services.photo_images import CONTENT_TYPES, BadImage, inspect_upload
from server.services.queue import enqueue  # a name of ours, so tests can stand in for Redis

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
JOB = "jobs.photos.process_photo"


def _check_image(data):
    """The real content type of ``data``; 422 unless header and ends show a whole, bounded image."""
    cfg = current_app.config
    try:
        return inspect_upload(data, cfg["PHOTO_MAX_PIXELS"], cfg["PHOTO_LONG_EDGE"],
                              cfg["PHOTO_MAX_DECODED_BYTES"])
    except BadImage as err:
        raise Invalid("The body is not an acceptable image", {"body": [str(err)]}) from None


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


def _check_residents_consent(visit_id):
    """422 unless every resident the visit's service lines name agreed to photos and still does."""
    named = select(VisitService.resident_id).where(VisitService.visit_id == visit_id,
                                                    VisitService.resident_id.is_not(None))
    people = db.session.execute(
        select(Resident.id, Resident.consent_given, Resident.consent_purposes,
               Resident.consent_withdrawn_at, Resident.anonymised)
        .where(Resident.id.in_(named)).order_by(Resident.id))
    problems = []
    for person in people:
        if person.consent_withdrawn_at is not None:
            problems.append(f"resident {person.id} withdrew consent")
        elif (not person.consent_given or person.anonymised
              or "photo" not in (person.consent_purposes or [])):
            problems.append(f"resident {person.id} has not consented to photos")
    if problems:
        raise Invalid("Every resident named in this visit must have consented to photos",
                      {"X-Consent": problems}, code="photo_consent_missing")


def upload(principal, visit_id, photo_id, content_type, data, consent):
    """Store an uploaded photo and queue its processing; returns ``(photo, created)``.

    An identical retry returns the stored row (``created`` False) and wakes its processing again
    if it is pending with nobody on it; other bytes under the id are 409.
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
    _check_residents_consent(visit.id)
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise TooLarge(f"A photo may have at most {current_app.config['PHOTO_MAX_BYTES']} bytes")
    if not data:
        raise Invalid("The body is empty", {"body": ["the image bytes are missing"]})
    digest = hashlib.sha256(data).hexdigest()

    existing = db.session.get(Photo, photo_uuid)
    if existing is not None:
        photo = _same_upload(existing, visit, digest)
        if photo.state == "pending":
            _wake_if_abandoned(photo.id, digest, data)
        return photo, False
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


def _overdue(now):
    """Pending rows whose wake-up is older than PHOTO_STALE_MINUTES (or was never sent)."""
    cutoff = now - timedelta(minutes=current_app.config["PHOTO_STALE_MINUTES"])
    return Photo.state == "pending", or_(Photo.enqueued_at.is_(None), Photo.enqueued_at < cutoff)


def _wake_if_abandoned(photo_id, digest, data):
    """Wake a pending photo again when nobody is processing it (its process may have died).

    With Redis that means its wake-up is overdue, as for the sweeper. Without Redis the job can
    only wait in some web process: if it is not in this one, run it here; should another process
    still hold it, the second run is harmless (the job is idempotent).
    """
    now = utcnow()
    if queue.embedded():
        if queue.in_flight(JOB, str(photo_id)):
            return
        claimable = (Photo.state == "pending",)
    else:
        claimable = _overdue(now)
    if not _claim(photo_id, claimable, now):
        return
    path = original_path(photo_id, digest)
    if not path.is_file():
        # The retry's bytes are the original (same SHA-256, checked when first stored). Should a
        # job in another process finish meanwhile, the sweeper removes this copy as an orphan.
        write_atomic(path, data)
    log.warning("photo %s: pending with nobody processing it; the retry wakes it", photo_id)
    _wake(photo_id, job_id=f"photo-{photo_id}-{int(now.timestamp())}")


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

def _claim(photo_id, conditions, now):
    """Move ``enqueued_at`` to ``now`` if the photo still meets ``conditions``; commits.

    Retries and sweepers (in any process) race for the same photo: only the one whose UPDATE
    matched wakes it, so it is processed once.
    """
    claimed = db.session.execute(
        update(Photo).where(Photo.id == photo_id, *conditions).values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def sweep_stale(now=None, limit=1000):
    """Re-enqueue pending photos whose job is overdue and delete originals nothing waits for.

    Returns ``{"requeued": n, "originals_removed": n}``.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError

    now = now or utcnow()
    overdue = _overdue(now)
    stale = list(db.session.scalars(
        select(Photo.id).where(*overdue).order_by(Photo.enqueued_at).limit(limit)))
    db.session.commit()
    requeued = 0
    for photo_id in stale:
        if not _claim(photo_id, overdue, now):
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
    cutoff = now - timedelta(minutes=current_app.config["PHOTO_STALE_MINUTES"])
    return {"requeued": requeued, "originals_removed": remove_orphans(cutoff, _still_pending)}


def _still_pending(photo_id, sha256):
    """Whether a pending row still needs the original ``<photo_id>.<sha256>``."""
    needed = db.session.scalar(select(Photo.id).where(
        Photo.id == photo_id, Photo.sha256 == sha256, Photo.state == "pending"))
    db.session.rollback()
    return needed is not None
