"""Applying a push: every item validated and applied on its own, in order, in one transaction.

Each item runs in a SAVEPOINT, so a failing item is undone alone. Primary keys, not a prior
SELECT, stop a racing retry from storing twice: the loser's savepoint fails and the item is
re-read and answered as a duplicate or conflict.
"""
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from schemas.sync import DATA_SCHEMAS, ItemIn
from server.errors import Forbidden, TooLarge
from server.extensions import db
from server.models import FollowUp, Hamlet, Household, Resident, Service, Visit, VisitService
from server.models.types import utcnow
from server.services import audit
from server.services.changes import ChangeClock, commune_scope
from server.services.queue import enqueue
from server.services.records import (content_hash, household_columns, local_day, point,
                                     resident_columns, resident_data_as_stored)
from server.services.sync_cursor import high_water_cursor

FOLLOWUP_NAMESPACE = uuid.UUID("6f1d7a52-3c1b-4d0e-9a57-2f0c8c6d1e01")
EARLIEST_VISIT = datetime(2020, 1, 1, tzinfo=timezone.utc)
REACHED = ("completed", "partial")
ITEM_IN = ItemIn()  # schemas are built once: instantiating one per item is measurable


class Rejected(Exception):
    """An item that cannot be stored; ``fields`` says why."""

    def __init__(self, fields):
        super().__init__(fields)
        self.fields = fields


@dataclass
class ItemResult:
    """The answer for one pushed item."""

    type: str | None
    id: str | None
    status: str
    version: int | None = None
    errors: dict = field(default_factory=dict)
    server: object = None


def flatten(messages, prefix=""):
    """Nested marshmallow messages as ``{"a.b.0.c": [...]}``."""
    flat = {}
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value if isinstance(value, list) else [value]
    return flat


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


class Batch:
    """What one push needs to know, loaded once: scope, catalogue, records it refers to."""

    def __init__(self, principal, device_id, items):
        self.principal = principal
        self.device_id = device_id
        self.now = utcnow()
        self.skew = timedelta(minutes=current_app.config["SYNC_CLOCK_SKEW_MINUTES"])
        # Taken first, before any row lock, so concurrent pushes queue here and never deadlock.
        self.clock = ChangeClock(commune_scope(principal.commune_id))
        self.catalogue = {s.code: s for s in db.session.scalars(select(Service))}
        self.hamlets = {}
        self.touched_hamlets = set()
        self.counts = {}
        self._prefetch(items)

    def _prefetch(self, items):
        ids = {"household": set(), "resident": set(), "visit": set()}
        for raw in items:
            if not isinstance(raw, dict):
                continue
            item_id = _uuid_or_none(raw.get("id"))
            if item_id and raw.get("type") in ids:
                ids[raw["type"]].add(item_id)
            data = raw.get("data")
            ref = _uuid_or_none(data.get("household_id")) if isinstance(data, dict) else None
            if ref:
                ids["household"].add(ref)
        self.households = {i: None for i in ids["household"]}
        for row in db.session.scalars(select(Household).where(Household.id.in_(ids["household"]))):
            self.households[row.id] = row
        self.residents = {i: None for i in ids["resident"]}
        self.residents_by_household = {}
        query = select(Resident).where(
            Resident.id.in_(ids["resident"]) | Resident.household_id.in_(ids["household"]))
        for row in db.session.scalars(query):
            self._remember_resident(row)
        self.visits = {i: None for i in ids["visit"]}
        for row in db.session.scalars(select(Visit).where(Visit.id.in_(ids["visit"]))):
            self.visits[row.id] = row
        self.open_followups = {}  # household id -> [(visited_at of the promising visit, row)]
        query = (select(Visit.visited_at, FollowUp).join(Visit, Visit.id == FollowUp.visit_id)
                 .where(FollowUp.household_id.in_(ids["household"]), FollowUp.status == "open"))
        for visited_at, row in db.session.execute(query):
            self.open_followups.setdefault(row.household_id, []).append((visited_at, row))

    def _remember_resident(self, row):
        self.residents[row.id] = row
        self.residents_by_household.setdefault(row.household_id, set()).add(row.id)

    def reload(self, kind, item_id):
        """Forget what we knew of a record after a failed savepoint and read it again."""
        model = {"household": Household, "resident": Resident, "visit": Visit}[kind]
        cache = {"household": self.households, "resident": self.residents,
                 "visit": self.visits}[kind]
        cache[item_id] = db.session.get(model, item_id, populate_existing=True)

    def hamlet(self, hamlet_id):
        """The hamlet if it exists and is in scope; Rejected otherwise."""
        if hamlet_id not in self.hamlets:
            self.hamlets[hamlet_id] = db.session.get(Hamlet, hamlet_id)
        hamlet = self.hamlets[hamlet_id]
        if hamlet is None or hamlet.valid_to is not None:
            raise Rejected({"hamlet_id": ["unknown hamlet"]})
        if not self.principal.can_see_hamlet(hamlet_id):
            raise Rejected({"hamlet_id": ["hamlet outside your hamlets"]})
        return hamlet

    def household(self, household_id, field_name="household_id"):
        """A stored, live household in scope; Rejected otherwise."""
        if household_id not in self.households:
            self.households[household_id] = db.session.get(Household, household_id)
        row = self.households[household_id]
        if row is None or row.deleted:
            raise Rejected({field_name: ["unknown household (push it first, in the same or an "
                                         "earlier batch)"]})
        if not self.principal.can_see_hamlet(row.hamlet_id):
            raise Rejected({field_name: ["household outside your hamlets"]})
        return row

    def own(self, row, what):
        """Refuse to touch (or reveal) an existing record outside the caller's hamlets."""
        if row is not None and not self.principal.can_see_hamlet(row.hamlet_id):
            raise Rejected({"id": [f"this id belongs to a {what} outside your hamlets"]})


def apply_household(batch, item_id, base_version, data):
    """Create or edit a household."""
    existing = batch.households.get(item_id)
    batch.own(existing, "household")
    hamlet = batch.hamlet(data["hamlet_id"])
    digest = content_hash(data)
    if existing is None:
        if base_version is not None:
            raise Rejected({"base_version": ["the server has no such household; send null to "
                                             "create it"]})
        row = Household(id=item_id, **household_columns(data), version=1, content_sha256=digest,
                        change_seq=batch.clock.next(), created_by_id=batch.principal.user.id,
                        created_at=batch.now, updated_at=batch.now)
        db.session.add(row)
        db.session.flush()
        batch.households[item_id] = row
        batch.touched_hamlets.add(hamlet.id)
        return ItemResult("household", str(item_id), "created", version=1)
    if existing.content_sha256 == digest:
        return ItemResult("household", str(item_id), "duplicate", version=existing.version)
    if base_version != existing.version:
        return ItemResult("household", str(item_id), "conflict", version=existing.version,
                          server=existing)
    moved = existing.hamlet_id != hamlet.id
    batch.touched_hamlets.update({existing.hamlet_id, hamlet.id})
    for key, value in household_columns(data).items():
        setattr(existing, key, value)
    _bump(batch, existing, digest)
    if moved:
        for resident_id in batch.residents_by_household.get(existing.id, ()):
            resident = batch.residents[resident_id]
            resident.hamlet_id = hamlet.id
            resident.change_seq = batch.clock.next()
    db.session.flush()
    return ItemResult("household", str(item_id), "updated", version=existing.version)


def _bump(batch, row, digest):
    row.version += 1
    row.content_sha256 = digest
    row.change_seq = batch.clock.next()
    row.updated_at = batch.now


def apply_resident(batch, item_id, base_version, data):
    """Create or edit a resident; ``consent.given: false`` withdraws consent and anonymises."""
    existing = batch.residents.get(item_id)
    batch.own(existing, "resident")
    household = batch.household(data["household_id"])
    stored = resident_data_as_stored(data)
    digest = content_hash(stored)
    withdrawing = not data["consent"]["given"]
    if existing is None:
        if base_version is not None:
            raise Rejected({"base_version": ["the server has no such resident; send null to "
                                             "create it"]})
        row = Resident(id=item_id, hamlet_id=household.hamlet_id, **resident_columns(stored),
                       version=1, content_sha256=digest, change_seq=batch.clock.next(),
                       created_by_id=batch.principal.user.id, created_at=batch.now,
                       updated_at=batch.now)
        db.session.add(row)
        db.session.flush()
        batch._remember_resident(row)
        batch.touched_hamlets.add(household.hamlet_id)
        return ItemResult("resident", str(item_id), "created", version=1)
    if existing.content_sha256 == digest or (withdrawing and existing.anonymised):
        return ItemResult("resident", str(item_id), "duplicate", version=existing.version)
    # A withdrawal is honoured whatever version the phone edited: it only erases data.
    if base_version != existing.version and not withdrawing:
        return ItemResult("resident", str(item_id), "conflict", version=existing.version,
                          server=existing)
    for key, value in resident_columns(stored).items():
        setattr(existing, key, value)
    existing.hamlet_id = household.hamlet_id
    if withdrawing:
        existing.consent_withdrawn_at = batch.now
        audit.record(batch.principal.actor, "consent.withdraw", "resident", item_id,
                     {"household_id": str(household.id), "device_id": batch.device_id},
                     user_id=batch.principal.user.id)
    else:
        existing.consent_withdrawn_at = None
    _bump(batch, existing, digest)
    db.session.flush()
    batch._remember_resident(existing)
    batch.touched_hamlets.add(household.hamlet_id)
    return ItemResult("resident", str(item_id), "updated", version=existing.version)


def _check_visit(batch, household, data):
    errors = {}
    visited_at = data["visited_at"]
    if visited_at > batch.now + batch.skew:
        errors["visited_at"] = ["is in the future (check the phone's clock)"]
    elif visited_at < EARLIEST_VISIT:
        errors["visited_at"] = ["is implausibly old (check the phone's clock)"]
    if data["follow_up_on"] and data["follow_up_on"] < local_day(visited_at):
        errors["follow_up_on"] = ["is before the visit"]
    members = batch.residents_by_household.get(household.id, set())
    for i, line in enumerate(data["services"]):
        service = batch.catalogue.get(line["code"])
        if service is None or not service.active:
            errors[f"services.{i}.code"] = ["unknown service code"]
            continue
        resident_id = line["resident_id"]
        if resident_id is None and service.unit == "person":
            errors[f"services.{i}.resident_id"] = ["required for a person-level service"]
        elif resident_id is not None and (resident_id not in members
                                          or batch.residents[resident_id].deleted):
            errors[f"services.{i}.resident_id"] = ["not a resident of this household"]
        if line["provider"] is not None and line["provider"] not in (service.providers or []):
            allowed = ", ".join(service.providers or []) or "none for this service"
            errors[f"services.{i}.provider"] = [f"must be one of: {allowed}"]
    if errors:
        raise Rejected(errors)


def apply_visit(batch, item_id, base_version, data):
    """Store a visit (append-only), its service lines and follow-up."""
    existing = batch.visits.get(item_id)
    batch.own(existing, "visit")
    household = batch.household(data["household_id"])
    digest = content_hash(data)
    if existing is not None:
        if existing.content_sha256 == digest:
            return ItemResult("visit", str(item_id), "duplicate", version=existing.revision)
        return ItemResult("visit", str(item_id), "conflict", version=existing.revision,
                          server=existing,
                          errors={"id": ["a different visit was already stored with this id"]})
    _check_visit(batch, household, data)
    location = data["location"]
    visit = Visit(
        id=item_id, household_id=household.id, hamlet_id=household.hamlet_id,
        member_id=batch.principal.user.id, device_id=batch.device_id,
        visited_at=data["visited_at"], visited_on=local_day(data["visited_at"]),
        location=point(location), location_accuracy_m=location.get("accuracy_m") if location else None,
        outcome=data["outcome"], notes=data["notes"], follow_up_on=data["follow_up_on"],
        content_sha256=digest, received_at=batch.now,
    )
    db.session.add(visit)
    db.session.add_all(VisitService(
        visit_id=item_id, service_code=line["code"], resident_id=line["resident_id"],
        result=line["result"], provider=line["provider"], detail=line["detail"],
    ) for line in data["services"])
    if data["outcome"] in REACHED:
        _close_followups(batch, household, data["visited_at"])
    followup = None
    if data["follow_up_on"]:
        followup = FollowUp(
            id=uuid.uuid5(FOLLOWUP_NAMESPACE, str(item_id)), visit=visit,
            household_id=household.id, hamlet_id=household.hamlet_id, due_on=data["follow_up_on"],
            note=(data["notes"] or "")[:255], change_seq=batch.clock.next(), created_at=batch.now,
        )
        db.session.add(followup)
    db.session.flush()
    if followup is not None:
        batch.open_followups.setdefault(household.id, []).append((data["visited_at"], followup))
    batch.visits[item_id] = visit
    batch.touched_hamlets.add(household.hamlet_id)
    return ItemResult("visit", str(item_id), "created", version=1)


def _close_followups(batch, household, visited_at):
    """A reaching visit settles the follow-ups promised by earlier visits to the household."""
    still_open = []
    for promised_at, followup in batch.open_followups.get(household.id, []):
        if promised_at < visited_at:
            followup.status = "done"
            followup.closed_at = batch.now
            followup.change_seq = batch.clock.next()
        else:
            still_open.append((promised_at, followup))
    batch.open_followups[household.id] = still_open


APPLY = {"household": apply_household, "resident": apply_resident, "visit": apply_visit}


def _apply_item(batch, raw):
    kind = raw.get("type") if isinstance(raw, dict) else None
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    shown_id = str(raw_id) if raw_id is not None else None
    kind = kind if isinstance(kind, str) else None
    try:
        if not isinstance(raw, dict):
            raise ValidationError({"_item": ["must be an object"]})
        item = ITEM_IN.load(raw)
        data = DATA_SCHEMAS[item["type"]].load(item["data"])
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_item": err.messages}
        return ItemResult(kind, shown_id, "rejected", errors=flatten(messages))
    for attempt in (1, 2):
        try:
            with db.session.begin_nested():
                return APPLY[item["type"]](batch, item["id"], item["base_version"], data)
        except Rejected as rejected:
            return ItemResult(kind, shown_id, "rejected", errors=rejected.fields)
        except IntegrityError:
            # A concurrent push stored this id first: read it again and answer from that.
            batch.reload(item["type"], item["id"])
            if item["type"] != "household" and data.get("household_id"):
                batch.reload("household", data["household_id"])
    return ItemResult(kind, shown_id, "rejected",
                      errors={"_item": ["could not be stored because of a concurrent change; "
                                        "send it again"]})


def push(principal, device_id, items):
    """Apply ``items`` in order; returns per-item results and the change high-water cursor."""
    if len(items) > current_app.config["SYNC_MAX_ITEMS"]:
        raise TooLarge(f"At most {current_app.config['SYNC_MAX_ITEMS']} items per push",
                       {"items": [f"{len(items)} items sent"]})
    if principal.commune_id is None:
        raise Forbidden("Only users of a commune can push")
    batch = Batch(principal, device_id, items)
    results = [_apply_item(batch, raw) for raw in items]
    batch.clock.save()
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    audit.record(principal.actor, "sync.push", "device", device_id, counts,
                 user_id=principal.user.id)
    db.session.commit()
    if batch.touched_hamlets:
        enqueue("jobs.aggregates.refresh_hamlet_aggregates", sorted(batch.touched_hamlets),
                queue="aggregates")
    return results, high_water_cursor(principal)
