"""Applying a push: every item validated and applied on its own, in order, in one transaction.

Items are decided in Python against what the batch prefetched, and new rows are written with
one bulk INSERT per table. Primary keys, not the prior SELECT, stop a racing writer from storing
an id twice: if a bulk INSERT finds an id taken, the push is redone item by item in SAVEPOINTs
and the loser's items are answered from the stored copy.
"""
import logging

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from schemas.sync import DATA_SCHEMAS, ItemIn
from server.errors import Forbidden, TooLarge
from server.extensions import db
from server.models import Household, Resident
from server.services import audit, consent, coverage_queue, scope_exits
from server.services.records import (content_hash, household_columns, resident_columns,
                                     resident_data_as_stored)
from server.services.sync_batch import Batch, ItemResult, Rejected
from server.services.sync_cursor import high_water_cursor
from server.services.sync_visits import apply_visit
from server.vocab import Problem

log = logging.getLogger(__name__)

MAX_ERRORS_PER_ITEM = 50  # a body with thousands of unknown fields gets a bounded answer
# The database is down or gone: the whole push fails with 503 and the phone retries it. Any other
# exception is about the items, and must cost no more than the item that caused it.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)
ITEM_IN = ItemIn()  # schemas are built once: instantiating one per item is measurable


def _printable(key):
    """A field path safe to echo: client-chosen keys may hold anything (surrogates, NUL, 1 MB)."""
    text = str(key)
    if len(text) > 64 or not text.isprintable() or any("\ud800" <= c <= "\udfff" for c in text):
        text = ascii(text[:64])[1:-1]
    return text


def flatten(messages, prefix=""):
    """Nested marshmallow messages as ``{"a.b.0.c": [...]}`` (at most MAX_ERRORS_PER_ITEM)."""
    flat = {}
    for key, value in messages.items():
        path = f"{prefix}{_printable(key)}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value if isinstance(value, list) else [value]
        if len(flat) >= MAX_ERRORS_PER_ITEM:
            break
    return dict(list(flat.items())[:MAX_ERRORS_PER_ITEM])


def apply_household(batch, item_id, base_version, data):
    """Create or edit a household."""
    existing = batch.households.get(item_id)
    batch.own(existing, "household")
    hamlet = batch.hamlet(data["hamlet_id"])
    digest = content_hash(data)
    if existing is None:
        if base_version is not None:
            raise Rejected({"base_version": [Problem("no_such_record")]})
        row = Household(id=item_id, **household_columns(data), version=1, content_sha256=digest,
                        change_seq=batch.clock.next(), created_by_id=batch.principal.user.id,
                        created_at=batch.now, updated_at=batch.now)
        batch.store(row)
        batch.households[item_id] = row
        batch.touched_hamlets.add(hamlet.id)
        return ItemResult("household", str(item_id), "created", version=1)
    if existing.content_sha256 == digest:
        return ItemResult("household", str(item_id), "duplicate", version=existing.version)
    if base_version != existing.version:
        return ItemResult("household", str(item_id), "conflict", version=existing.version,
                          server=existing)
    from_hamlet_id = existing.hamlet_id
    batch.touched_hamlets.update({existing.hamlet_id, hamlet.id})
    for key, value in household_columns(data).items():
        setattr(existing, key, value)
    _bump(batch, existing, digest)
    if from_hamlet_id != hamlet.id:
        # Residents and follow-ups move along; the old hamlet's phones are told to drop them.
        scope_exits.household_moved(batch, existing, from_hamlet_id)
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
            raise Rejected({"base_version": [Problem("no_such_record")]})
        row = Resident(id=item_id, hamlet_id=household.hamlet_id, **resident_columns(stored),
                       version=1, content_sha256=digest, change_seq=batch.clock.next(),
                       created_by_id=batch.principal.user.id, created_at=batch.now,
                       updated_at=batch.now)
        batch.store(row)
        batch.remember_resident(row)
        batch.touched_hamlets.add(household.hamlet_id)
        return ItemResult("resident", str(item_id), "created", version=1)
    if existing.content_sha256 == digest or (withdrawing and existing.anonymised):
        return ItemResult("resident", str(item_id), "duplicate", version=existing.version)
    # A withdrawal is honoured whatever version the phone edited: it only erases data.
    if base_version != existing.version and not withdrawing:
        return ItemResult("resident", str(item_id), "conflict", version=existing.version,
                          server=existing)
    old_name, old_phone, old_household_id = existing.full_name, existing.phone, \
        existing.household_id
    for key, value in resident_columns(stored).items():
        setattr(existing, key, value)
    if existing.hamlet_id != household.hamlet_id:
        scope_exits.record_exit(batch.clock, "resident", existing.id, existing.hamlet_id,
                                batch.now)
    existing.hamlet_id = household.hamlet_id
    if withdrawing:
        existing.consent_withdrawn_at = batch.now
        # The name and phone also live in the household and visit notes: erase those copies.
        erased = consent.erase_personal_data(batch, existing, old_name, old_phone,
                                             {old_household_id, household.id})
        audit.record(batch.principal.actor, "consent.withdraw", "resident", item_id,
                     {"household_id": str(household.id), "device_id": batch.device_id,
                      "erased": erased},
                     user_id=batch.principal.user.id)
    else:
        existing.consent_withdrawn_at = None
    _bump(batch, existing, digest)
    batch.remember_resident(existing)
    batch.touched_hamlets.add(household.hamlet_id)
    return ItemResult("resident", str(item_id), "updated", version=existing.version)


APPLY = {"household": apply_household, "resident": apply_resident, "visit": apply_visit}


def _echo(value):
    """What a rejected result may say of the item's own ``type``/``id``."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return _printable(value)


def _validate(raw):
    """``(item, None)`` for a well-formed item, ``(None, rejected result)`` otherwise."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    try:
        if not isinstance(raw, dict):
            raise ValidationError({"_item": [Problem("not_object")]})
        item = ITEM_IN.load(raw)
        item["data"] = DATA_SCHEMAS[item["type"]].load(item["data"])
        return item, None
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_item": err.messages}
        return None, ItemResult(_echo(kind), _echo(raw_id), "rejected", errors=flatten(messages))
    except Exception:  # noqa: BLE001 - a validation bug must cost one item, never the batch
        log.exception("push: validating an item failed")
        return None, ItemResult(_echo(kind), _echo(raw_id), "rejected",
                                errors={"_item": [Problem("unstorable")]})


def _apply(batch, item):
    try:
        return APPLY[item["type"]](batch, item["id"], item["base_version"], item["data"])
    except Rejected as rejected:
        return ItemResult(item["type"], str(item["id"]), "rejected", errors=rejected.fields)


def _unstorable(item, code="unstorable"):
    return ItemResult(item["type"], str(item["id"]), "rejected", errors={"_item": [Problem(code)]})


def _apply_carefully(batch, item):
    """One item in its own SAVEPOINT; a row stored meanwhile by another push is re-read.

    Whatever else goes wrong with the item (a value the database refuses, a bug) rolls back its
    savepoint only: it is answered ``rejected`` and the rest of the batch is stored.
    """
    for _ in range(2):
        try:
            with db.session.begin_nested():
                result = _apply(batch, item)
                db.session.flush()
                return result
        except IntegrityError:
            batch.reload(item["type"], item["id"])
            if item["data"].get("household_id"):
                batch.reload("household", item["data"]["household_id"])
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - one item must never cost the batch
            log.exception("push: item %s %s could not be stored", item["type"], item["id"])
            return _unstorable(item)
    return _unstorable(item, "concurrent_change")


def _apply_all(principal, device_id, checked, careful):
    valid = [item for item, _ in checked if item is not None]
    batch = Batch(principal, device_id, valid, careful=careful)
    results = []
    with db.session.no_autoflush:
        for item, rejected in checked:
            if rejected is not None:
                results.append(rejected)
            elif careful:
                results.append(_apply_carefully(batch, item))
            else:
                results.append(_apply(batch, item))
    if not careful:
        batch.write_new_rows()
    batch.clock.save()
    return batch, results


def push(principal, device_id, items):
    """Apply ``items`` in order; returns per-item results and the change high-water cursor."""
    if len(items) > current_app.config["SYNC_MAX_ITEMS"]:
        raise TooLarge(f"At most {current_app.config['SYNC_MAX_ITEMS']} items per push",
                       {"items": [f"{len(items)} items sent"]})
    if principal.commune_id is None:
        raise Forbidden("Only users of a commune can push")
    checked = [_validate(raw) for raw in items]
    try:
        batch, results = _apply_all(principal, device_id, checked, careful=False)
    except INFRASTRUCTURE_ERRORS:
        raise
    except Exception as err:  # noqa: BLE001 - a taken id, or an item the fast path can't store
        if not isinstance(err, IntegrityError):
            log.warning("push: fast path failed (%s); storing item by item", type(err).__name__)
        db.session.rollback()
        batch, results = _apply_all(principal, device_id, checked, careful=True)
    counts = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    audit.record(principal.actor, "sync.push", "device", device_id, counts,
                 user_id=principal.user.id)
    if batch.touched_hamlets:  # committed with the push: a drain always finds them
        coverage_queue.record(principal.commune_id, **batch.coverage_touched())
    db.session.commit()
    if batch.touched_hamlets:
        coverage_queue.schedule()
    return results, high_water_cursor(principal)
