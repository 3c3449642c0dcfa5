"""Consent withdrawal: erase a resident's name and phone from everywhere the app keeps them.

The resident row is cleared by the push itself; this module finds the copies: the household's
head name and phone (when the resident is its head), the household's address, the notes of the
household's visits and follow-ups, the free text of service lines, and the photos of visits that
name the resident (refused, files deleted once the withdrawal has committed). Every occurrence becomes
``REDACTED``; rows that phones pull get a new version/change_seq so phones receive the scrubbed
copy. Visits keep their ``content_sha256``, so a phone retrying the original visit still gets
``duplicate`` rather than a conflict it cannot resolve.

After the transaction commits, SQLite's WAL is truncated (``server.database.truncate_wal``) so
the old page images holding the name leave the disk as well; ``secure_delete`` zeroes the freed
space in the database file.
"""
import re
import unicodedata
from functools import lru_cache

import phonenumbers
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from server.database import truncate_wal
from server.extensions import db
from server.models import AuditEntry, FollowUp, Household, Photo, Visit, VisitService
from server.services import photo_files

REDACTED = "[đã xóa]"
_CHECKPOINT = "consent.truncate_wal"  # session.info key: the engine to checkpoint after commit
_PHOTO_FILES = "consent.photo_files"  # session.info key: photo files to delete after commit
_SEP = r"[\s.\-/]{0,3}"  # between the digits of a written phone: "0912 345 678", "0912.345.678"


@lru_cache(maxsize=4096)
def _fold_char(char):
    """One character lower-cased and without diacritics ("Ễ" -> "e", "Đ" -> "d")."""
    if char in "đĐ":
        return "d"
    bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return bare.casefold()


def fold(text):
    """``text`` lower-cased and without diacritics, for comparing names as people write them."""
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFC", text))


def _same_name(a, b):
    return bool(a and b) and " ".join(fold(a).split()) == " ".join(fold(b).split())


class Eraser:
    """Finds a name (any case, with or without diacritics) and a phone (any usual writing)."""

    def __init__(self, name, phone):
        words = fold(name).split() if name else []
        if sum(c.isalnum() for c in "".join(words)) < 2:
            words = []  # punctuation or an initial alone would erase unrelated text
        self._name = (re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)")
                      if words else None)
        self._phone = _phone_pattern(phone) if phone else None

    def __bool__(self):
        return bool(self._name or self._phone)

    def redact(self, text):
        """``text`` with every occurrence replaced by REDACTED (the same object if none)."""
        if not text:
            return text
        result = text
        if self._name is not None:
            result = self._redact_name(result)
        if self._phone is not None:
            result = self._phone.sub(REDACTED, result)
        return text if result == text else result

    def _redact_name(self, original):
        text = unicodedata.normalize("NFC", original)
        # Match on the folded text, then cut the same characters out of the original: a folded
        # character comes from exactly one original character (some from none, e.g. a lone
        # combining mark, which then stays with the character before it).
        folded, origin = [], []
        for i, char in enumerate(text):
            for f in _fold_char(char):
                folded.append(f)
                origin.append(i)
        spans = []
        for match in self._name.finditer("".join(folded)):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1
            spans.append((start, end))
        if not spans:
            return original
        for start, end in reversed(spans):
            text = text[:start] + REDACTED + text[end:]
        return text


def _phone_pattern(phone):
    """A regex for ``phone`` (E.164) written with or without country code, trunk 0, separators."""
    try:
        number = phonenumbers.parse(phone, "VN")
        country, national = str(number.country_code), \
            phonenumbers.national_significant_number(number)
    except phonenumbers.NumberParseException:
        country, national = "", re.sub(r"\D", "", phone)
    if len(national) < 6:
        return None  # too short to find without hitting unrelated numbers
    prefixes = [rf"0{_SEP}"]
    if country:
        prefixes.append(rf"\(?(?:\+|00)?\s*{country}\s*\)?{_SEP}")
    digits = _SEP.join(national)
    return re.compile(rf"(?<![\d+])(?:{'|'.join(prefixes)})?{digits}(?!\d)")


def erase_personal_data(batch, resident, old_name, old_phone, household_ids):
    """Remove ``old_name``/``old_phone`` from the households ``household_ids`` and their visits.

    ``batch`` is the push (its clock, time and not-yet-written rows). Returns counts of the
    rows changed, for the audit entry (never the data itself).
    """
    eraser = Eraser(old_name, old_phone)
    household_ids = list(household_ids)
    counts = {"households": 0, "visits": 0, "followups": 0, "service_lines": 0}
    if not eraser:
        return counts
    for household_id in household_ids:
        household = _household_row(batch, household_id)
        if household is not None and _scrub_household(household, eraser, old_name, old_phone):
            household.version += 1
            household.change_seq = batch.clock.next()
            household.updated_at = batch.now
            counts["households"] += 1
    visits = _visits(batch, resident.id, household_ids)
    originals = {}
    for visit in visits:
        notes = eraser.redact(visit.notes)
        comment = eraser.redact(visit.review_comment)
        changed = notes is not visit.notes or comment is not visit.review_comment
        if notes is not visit.notes:
            originals[visit.id] = visit.notes
            visit.notes = notes  # content_sha256 stays: a retry of the original is a duplicate
        visit.review_comment = comment
        counts["visits"] += changed
    counts["audit_comments"] = _scrub_review_audit(eraser, [v.id for v in visits])
    for followup in _followups(batch, household_ids, {v.id for v in visits}):
        # The note is the visit's notes cut at 255: redo the cut so a name it split is gone too.
        source = originals.get(followup.visit_id)
        note = (eraser.redact(source)[:255] if source is not None and followup.note == source[:255]
                else eraser.redact(followup.note))
        if note != followup.note:
            followup.note = note
            followup.change_seq = batch.clock.next()
            counts["followups"] += 1
    counts["service_lines"] = _scrub_service_lines(batch, eraser, {v.id for v in visits})
    counts["photos"] = _erase_photos(resident.id)
    _truncate_wal_after_commit()
    return counts


def _scrub_review_audit(eraser, visit_ids):
    """Reviewers' comments kept in the audit log of the visits (``details.comment``)."""
    changed = 0
    if not visit_ids:
        return changed
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "visit", AuditEntry.entity_id.in_([str(i) for i in visit_ids]),
        AuditEntry.action.like("visit.review.%")))
    for entry in entries:
        comment = (entry.details or {}).get("comment")
        redacted = eraser.redact(comment)
        if redacted is not comment:
            entry.details = {**entry.details, "comment": redacted}
            changed += 1
    return changed


def _household_row(batch, household_id):
    row = batch.households.get(household_id)
    if isinstance(row, Household):
        return row
    # Rows the push only referenced were prefetched as (id, hamlet, deleted) tuples.
    return db.session.get(Household, household_id)


def _scrub_household(household, eraser, old_name, old_phone):
    """Clear the head's name and phone if the resident is the head; redact them elsewhere."""
    before = (household.head_name, household.phone, household.address)
    is_head = _same_name(household.head_name, old_name)
    if is_head:
        # No named head until a member records a new contact person (with their consent);
        # phones label the household by its address meanwhile.
        household.head_name = None
    else:
        household.head_name = eraser.redact(household.head_name)
    # The phone written next to the head's name is the head's contact as far as we can tell.
    if household.phone and (is_head or household.phone == old_phone):
        household.phone = None
    household.address = eraser.redact(household.address)
    return (household.head_name, household.phone, household.address) != before


def _visits(batch, resident_id, household_ids):
    """Visits to the households, and any visit with a service line for the resident."""
    lines = select(VisitService.visit_id).where(VisitService.resident_id == resident_id)
    rows = {v.id: v for v in db.session.scalars(select(Visit).where(
        or_(Visit.household_id.in_(household_ids), Visit.id.in_(lines))))}
    # Visits of this push not written yet (the fast path inserts them at the end).
    new_lines = {line["visit_id"] for line in batch.new.get(VisitService, ())
                 if isinstance(line, dict) and line.get("resident_id") == resident_id}
    rows.update({v.id: v for v in batch.new.get(Visit, ())
                 if v.household_id in household_ids or v.id in new_lines})
    return list(rows.values())


def _followups(batch, household_ids, visit_ids):
    rows = {f.id: f for f in db.session.scalars(select(FollowUp).where(
        or_(FollowUp.household_id.in_(household_ids), FollowUp.visit_id.in_(visit_ids))))}
    rows.update({f.id: f for f in batch.new.get(FollowUp, ())
                 if f.household_id in household_ids or f.visit_id in visit_ids})
    return list(rows.values())


def _scrub_service_lines(batch, eraser, visit_ids):
    changed = 0
    for line in db.session.scalars(select(VisitService).where(
            VisitService.visit_id.in_(visit_ids), VisitService.detail.isnot(None))):
        detail = eraser.redact(line.detail)
        if detail is not line.detail:
            line.detail = detail
            changed += 1
    for line in batch.new.get(VisitService, ()):
        if isinstance(line, dict) and line.get("visit_id") in visit_ids and line.get("detail"):
            detail = eraser.redact(line["detail"])
            if detail is not line["detail"]:
                line["detail"] = detail
                changed += 1
    return changed


def _erase_photos(resident_id):
    """Photos of visits that name the resident: refused now, their files deleted after commit.

    A photo shows the people of the visit; with the consent gone it may not be kept or served.
    """
    named = select(VisitService.visit_id).where(VisitService.resident_id == resident_id)
    files = db.session.info.setdefault(_PHOTO_FILES, [])
    erased = 0
    for photo in db.session.scalars(select(Photo).where(Photo.visit_id.in_(named),
                                                        Photo.state != "rejected")):
        photo.state, photo.error = "rejected", "consent withdrawn"
        files += [photo_files.photo_path(photo.id), photo_files.thumb_path(photo.id),
                  photo_files.original_path(photo.id, photo.sha256)]
        erased += 1
    return erased


def _truncate_wal_after_commit():
    """Ask for a WAL truncation once this session's transaction has committed."""
    db.session.info[_CHECKPOINT] = db.engine


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    for path in session.info.pop(_PHOTO_FILES, ()):
        path.unlink(missing_ok=True)
    engine = session.info.pop(_CHECKPOINT, None)
    if engine is not None:
        truncate_wal(engine)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop(_PHOTO_FILES, None)  # the withdrawal did not happen: keep the photos
