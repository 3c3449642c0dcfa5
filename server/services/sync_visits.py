"""Applying a pushed visit: a new one (append-only, with its service lines and follow-up) or,
with ``base_version``, its member's correction as a new revision (docs/decisions.md, "Field
app, round three"). Called by ``sync_push`` for each visit item, against the push's ``Batch``.
"""
import uuid

from sqlalchemy import delete, inspect, select

from server.extensions import db
from server.models import FollowUp, Visit, VisitService
from server.services import audit
from server.services.catalogue import usable_on_visit
from server.services.records import content_hash, local_day, point
from server.services.sync_batch import ItemResult, Rejected
from server.vocab import REACHED_OUTCOMES, Problem

FOLLOWUP_NAMESPACE = uuid.UUID("6f1d7a52-3c1b-4d0e-9a57-2f0c8c6d1e01")


def _check_visit(batch, household, data):
    errors = {}
    members = batch.members.get(household.id, set())
    for i, line in enumerate(data["services"]):
        service = batch.catalogue.get(line["code"])
        if not usable_on_visit(service, data["visited_at"]):  # retired codes stay on old visits
            errors[f"services.{i}.code"] = [Problem("unknown_service")]
            continue
        resident_id = line["resident_id"]
        if resident_id is None and service.unit == "person":
            errors[f"services.{i}.resident_id"] = [Problem("resident_required")]
        elif resident_id is not None and resident_id not in members:
            errors[f"services.{i}.resident_id"] = [Problem("not_household_member")]
        if line["provider"] is not None and line["provider"] not in (service.providers or []):
            allowed = ", ".join(service.providers or []) or "none for this service"
            errors[f"services.{i}.provider"] = [Problem("bad_provider", f"must be one of: {allowed}")]
    if errors:
        raise Rejected(errors)


class NeedsCarefulPath(Exception):
    """A revision of a visit stored earlier in the same batch: only the careful path (one
    SAVEPOINT per item, rows flushed as they come) can replace lines not yet inserted."""


def apply_visit(batch, item_id, base_version, data):
    """Store a visit, its service lines and follow-up; or, with ``base_version``, a revision of
    the member's own stored visit (``_revise_visit``)."""
    existing = batch.visits.get(item_id)
    batch.own(existing, "visit")
    household = batch.household(data["household_id"])
    digest = content_hash(data)
    if existing is not None:
        if existing.content_sha256 == digest:
            return ItemResult("visit", str(item_id), "duplicate", version=existing.revision)
        if base_version is None:  # a new visit whose id is taken (the contract before revisions)
            return ItemResult("visit", str(item_id), "conflict", version=existing.revision,
                              server=existing,
                              errors={"id": [Problem("id_taken")]})
        return _revise_visit(batch, existing, household, base_version, data, digest)
    if base_version is not None:
        raise Rejected({"base_version": [Problem("no_such_record")]})
    _check_visit(batch, household, data)
    location = data["location"]
    visit = Visit(
        id=item_id, household_id=household.id, hamlet_id=household.hamlet_id,
        member_id=batch.principal.user.id, device_id=batch.device_id,
        visited_at=data["visited_at"], visited_on=local_day(data["visited_at"]),
        location=point(location), location_accuracy_m=location.get("accuracy_m") if location else None,
        outcome=data["outcome"], notes=data["notes"], follow_up_on=data["follow_up_on"],
        content_sha256=digest, received_at=batch.now, revision=1,
    )
    batch.store(visit)
    _store_lines(batch, item_id, data)
    _settle_and_promise(batch, household, visit, data)
    batch.visits[item_id] = visit
    batch.touched_hamlets.add(household.hamlet_id)
    return ItemResult("visit", str(item_id), "created", version=1)


def _store_lines(batch, visit_id, data):
    batch.store_rows(VisitService, [
        {"visit_id": visit_id, "service_code": line["code"], "resident_id": line["resident_id"],
         "result": line["result"], "provider": line["provider"], "detail": line["detail"]}
        for line in data["services"]])


def _settle_and_promise(batch, household, visit, data):
    """A reaching visit settles earlier follow-ups; a follow-up day makes a new one."""
    if data["outcome"] in REACHED_OUTCOMES:
        _close_followups(batch, household, data["visited_at"], set(data.get("keep_open") or ()))
        latest = batch.last_reach.get(household.id)
        if latest is None or latest < data["visited_at"]:
            batch.last_reach[household.id] = data["visited_at"]
    if data["follow_up_on"]:
        followup = FollowUp(
            id=uuid.uuid5(FOLLOWUP_NAMESPACE, str(visit.id)), visit_id=visit.id,
            household_id=household.id, hamlet_id=household.hamlet_id, due_on=data["follow_up_on"],
            note=(data["notes"] or "")[:255], change_seq=batch.clock.next(), created_at=batch.now,
        )
        # Settled already when a later reaching visit reached the server first: the same
        # follow-ups end up open whatever order the phones' batches arrive in.
        latest = batch.last_reach.get(household.id)
        if latest is not None and latest > data["visited_at"]:
            followup.status, followup.closed_at = "done", batch.now
        else:
            batch.open_followups.setdefault(household.id, []).append((data["visited_at"], followup))
        batch.store(followup)


# The office's final word: a visit it approved or rejected is no longer the member's to change.
FINAL_REVIEWS = ("approved", "rejected")


def _revise_visit(batch, visit, household, base_version, data, digest):
    """A correction of a stored visit (docs/decisions.md, "Visit revisions"): its own member only,
    not after a final review, same household, against its current revision. The visit keeps its
    id and photos; its content and service lines are replaced and ``revision`` goes up."""
    item_id = visit.id
    if visit.member_id != batch.principal.user.id:
        raise Rejected({"id": [Problem("not_your_visit")]})
    if visit.review_state in FINAL_REVIEWS:
        raise Rejected({"id": [Problem("visit_reviewed")]})
    if visit.household_id != household.id:
        raise Rejected({"household_id": [Problem("household_changed")]})
    if base_version != visit.revision:
        return ItemResult("visit", str(item_id), "conflict", version=visit.revision, server=visit)
    if not inspect(visit).persistent:
        raise NeedsCarefulPath()
    _check_visit(batch, household, data)
    # Coverage: the old content's rows must go too (its day, and residents it no longer names).
    old_residents = set(db.session.scalars(
        select(VisitService.resident_id).where(VisitService.visit_id == item_id,
                                               VisitService.resident_id.isnot(None))))
    db.session.execute(delete(VisitService).where(VisitService.visit_id == item_id)
                       .execution_options(synchronize_session=False))
    db.session.expire(visit, ["services"])
    location = data["location"]
    visit.visited_at, visit.visited_on = data["visited_at"], local_day(data["visited_at"])
    visit.location = point(location)
    visit.location_accuracy_m = location.get("accuracy_m") if location else None
    visit.outcome, visit.notes, visit.follow_up_on = data["outcome"], data["notes"], \
        data["follow_up_on"]
    visit.content_sha256 = digest
    visit.revision += 1
    if visit.review_state == "has_issues":
        # The member answered the office's request: the visit waits for a new look.
        visit.review_state = "received"
        visit.change_seq = batch.clock.next()
    _store_lines(batch, item_id, data)
    _revise_promise(batch, household, visit, data)
    if data["outcome"] in REACHED_OUTCOMES:
        _close_followups(batch, household, data["visited_at"], set(data.get("keep_open") or ()))
        latest = batch.last_reach.get(household.id)
        if latest is None or latest < data["visited_at"]:
            batch.last_reach[household.id] = data["visited_at"]
    audit.record(batch.principal.actor, "visit.revise", "visit", item_id,
                 {"revision": visit.revision, "device_id": batch.device_id},
                 user_id=batch.principal.user.id)
    batch.touched_visits.add(item_id)
    batch.revised_households.add(household.id)
    batch.revised_residents.update(old_residents)
    batch.touched_hamlets.add(household.hamlet_id)
    return ItemResult("visit", str(item_id), "updated", version=visit.revision)


def _revise_promise(batch, household, visit, data):
    """The revised visit's follow-up: a new day moves it, a removed day withdraws it (closed),
    a new day where none was makes it. One already settled stays settled."""
    followup = db.session.get(FollowUp, uuid.uuid5(FOLLOWUP_NAMESPACE, str(visit.id)))
    if followup is None:
        if data["follow_up_on"]:
            _settle_and_promise(batch, household, visit, dict(data, outcome=None))
        return
    entries = batch.open_followups.get(household.id, [])
    entries[:] = [(at, row) for at, row in entries if row is not followup]
    if data["follow_up_on"]:
        followup.due_on, followup.note = data["follow_up_on"], (data["notes"] or "")[:255]
        if followup.status == "open":
            entries.append((data["visited_at"], followup))
    elif followup.status == "open":
        followup.status, followup.closed_at = "done", batch.now
    followup.change_seq = batch.clock.next()
    batch.open_followups[household.id] = entries


def _close_followups(batch, household, visited_at, keep_open=frozenset()):
    """A reaching visit settles the follow-ups promised by earlier visits to the household, except
    those whose promising visit it lists in ``keep_open`` (the visit was about something else)."""
    still_open = []
    for promised_at, followup in batch.open_followups.get(household.id, []):
        if promised_at < visited_at and followup.visit_id not in keep_open:
            followup.status = "done"
            followup.closed_at = batch.now
            followup.change_seq = batch.clock.next()
        else:
            still_open.append((promised_at, followup))
    batch.open_followups[household.id] = still_open
