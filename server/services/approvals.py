"""Month approval: a commune officer approves a month's coverage figures (a snapshot).

The snapshot is the coverage answer of the whole commune for that calendar month, exactly as
``GET /api/v1/coverage`` serialises it. A later change that alters the month (a push, a review
decision, a merge, a baseline edit, a target) makes the live figures differ from the snapshot:
the month is then marked ``stale`` (audit-logged) and waits for a re-approval. Nothing replaces
a snapshot but an officer's approval, and every approved snapshot is kept
(``month_approval_snapshots``).

Staleness is checked when the console shows a month or the months list, and by the coverage
refresh job (``check_touched``) for the communes a push touched.
"""
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from schemas.coverage import CoverageOut
from server.auth import Principal
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.extensions import db
from server.models import (Commune, Hamlet, HamletMonth, Household, MonthApproval,
                           MonthApprovalSnapshot, Resident, User, Visit)
from server.models.types import utcnow
from server.services import aggregates, audit, coverage
from server.vocab import Role, local_day

log = logging.getLogger(__name__)
MAX_DIFFERENCES = 60


def parse_month(text):
    """The first day of ``YYYY-MM``; 404 for anything else (it is a path segment)."""
    try:
        year, month = (int(p) for p in str(text).split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        raise NotFound("No such month") from None


def month_key(month):
    """``YYYY-MM`` of a month's first day."""
    return month.strftime("%Y-%m")


def _commune_principal(commune):
    # The whole commune, whoever looks: a snapshot is the commune's figures, not a scope's.
    return Principal(user=None, role=Role.ADMIN, province_id=commune.province_id,
                     commune_id=commune.id, hamlet_ids=None)


def live_figures(commune, month):
    """The commune's coverage of ``month``, serialised as the API answers it."""
    first, last = aggregates.month_bounds(month)
    answer = coverage.coverage(_commune_principal(commune),
                               {"commune": commune.code, "from": first, "to": last})
    return CoverageOut().dump(answer)


def digest(figures):
    """SHA-256 of the canonical JSON of a figures document."""
    text = json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _flatten(row, prefix=""):
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) or value is None:
            out[f"{prefix}{key}"] = value
    return out


def differences(snapshot, live, hamlet_ids=None):
    """``[(unit name, figure path, approved value, live value)]`` where the two disagree."""
    def units(doc):
        rows = {("commune", None): doc["commune"]} if hamlet_ids is None else {}
        for h in doc["hamlets"]:
            if hamlet_ids is None or h["hamlet_id"] in hamlet_ids:
                rows[("hamlet", h["hamlet_id"])] = h
        return rows

    before, after = units(snapshot or {"commune": {}, "hamlets": []}), units(live)
    out = []
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key, {}), after.get(key, {})
        name = (new or old).get("name", "")
        flat_old, flat_new = _flatten(old), _flatten(new)
        for path in sorted(set(flat_old) | set(flat_new)):
            if path == "hamlet_id" or flat_old.get(path) == flat_new.get(path):
                continue
            out.append((name, path, flat_old.get(path), flat_new.get(path)))
            if len(out) >= MAX_DIFFERENCES:
                return out
    return out


@dataclass
class MonthStatus:
    """What the approval page shows for one month."""

    commune: Commune
    month: date
    state: str  # open | approved | stale
    approval: Optional[MonthApproval]
    approver: Optional[User]
    live: dict
    live_sha256: str
    ended: bool
    differences: list = field(default_factory=list)
    history: list = field(default_factory=list)  # MonthApprovalSnapshot rows, newest first


def _commune_of(principal):
    commune = db.session.get(Commune, principal.commune_id) if principal.commune_id else None
    if commune is None:
        raise NotFound("No commune")
    return commune


def _mark_stale(approval, live_sha, diffs):
    approval.state = "stale"
    audit.record("system", "month.stale", "month_approval",
                 f"{approval.commune_id}:{month_key(approval.month)}",
                 {"approved_sha256": digest(approval.snapshot), "live_sha256": live_sha,
                  "differences": [[n, p, o, v] for n, p, o, v in diffs[:20]]})


def _check(approval, commune, live=None):
    """Mark an approved month stale when its live figures left the snapshot; returns live."""
    live = live if live is not None else live_figures(commune, approval.month)
    if approval.state == "approved":
        live_sha = digest(live)
        if live_sha != digest(approval.snapshot):
            _mark_stale(approval, live_sha, differences(approval.snapshot, live))
    return live


def status(principal, month):
    """The month's approval state for the caller's commune (stale is detected and recorded)."""
    commune = _commune_of(principal)
    approval = db.session.get(MonthApproval, (commune.id, month))
    live = live_figures(commune, month)
    if approval is not None and approval.state == "approved":
        _check(approval, commune, live)
        db.session.commit()
    state = approval.state if approval is not None else "open"
    history = list(db.session.scalars(
        select(MonthApprovalSnapshot).where(MonthApprovalSnapshot.commune_id == commune.id,
                                            MonthApprovalSnapshot.month == month)
        .order_by(MonthApprovalSnapshot.id.desc())))
    hamlet_ids = None if principal.hamlet_ids is None or principal.role == Role.COMMUNE_OFFICER \
        else principal.hamlet_ids
    diffs = differences(approval.snapshot, live, hamlet_ids) \
        if approval is not None and approval.snapshot is not None and state == "stale" else []
    approver = db.session.get(User, approval.approved_by_id) \
        if approval is not None and approval.approved_by_id else None
    return MonthStatus(commune, month, state, approval, approver, live, digest(live),
                       aggregates.month_bounds(month)[1] < local_day(utcnow()), diffs, history)


def months(principal):
    """``[(month, state, approval)]``: months with activity or an approval, newest first."""
    commune = _commune_of(principal)
    hamlet_ids = select(Hamlet.id).where(Hamlet.commune_id == commune.id)
    found = set(db.session.scalars(select(HamletMonth.month).distinct()
                                   .where(HamletMonth.hamlet_id.in_(hamlet_ids))))
    approvals = {a.month: a for a in db.session.scalars(
        select(MonthApproval).where(MonthApproval.commune_id == commune.id))}
    today = local_day(utcnow())
    found |= set(approvals) | {(today.replace(day=1) - timedelta(days=1)).replace(day=1)}
    for approval in approvals.values():
        if approval.state == "approved":
            _check(approval, commune)
    db.session.commit()
    return [(m, approvals[m].state if m in approvals else "open", approvals.get(m))
            for m in sorted(found, reverse=True)]


def approve(principal, month, seen_sha256):
    """Approve ``month``'s figures as the officer saw them (``seen_sha256``); commits.

    Refused when the month has not ended yet (422) or when the figures changed since the page
    was shown (409: the officer approves only numbers they saw).
    """
    if principal.role != Role.COMMUNE_OFFICER:
        raise Forbidden("Only a commune officer approves a month")
    commune = _commune_of(principal)
    first, last = aggregates.month_bounds(month)
    if last >= local_day(utcnow()):
        raise Invalid(fields={"month": ["the month has not ended yet"]})
    live = live_figures(commune, month)
    live_sha = digest(live)
    if seen_sha256 != live_sha:
        raise Conflict("The figures changed since the page was shown")
    approval = db.session.get(MonthApproval, (commune.id, month))
    before = approval.state if approval is not None else "open"
    if approval is None:
        approval = MonthApproval(commune_id=commune.id, month=month)
        db.session.add(approval)
    now, user_id = utcnow(), principal.user.id
    approval.state, approval.approved_by_id, approval.approved_at = "approved", user_id, now
    approval.snapshot = live
    db.session.add(MonthApprovalSnapshot(commune_id=commune.id, month=month,
                                         approved_by_id=user_id, approved_at=now,
                                         sha256=live_sha, snapshot=live))
    audit.record(principal.actor, "month.approve", "month_approval",
                 f"{commune.id}:{month_key(month)}",
                 {"commune": commune.code, "month": month_key(month), "sha256": live_sha,
                  "previous_state": before}, user_id=user_id)
    try:
        db.session.commit()
    except IntegrityError:  # another officer approved the same month at the same moment
        db.session.rollback()
        raise Conflict("The month was approved by someone else meanwhile") from None
    return approval


def check_communes(commune_ids):
    """Mark stale every approved month of these communes whose figures changed; commits."""
    commune_ids = list(commune_ids)
    if not commune_ids:
        return 0
    approvals = list(db.session.scalars(select(MonthApproval).where(
        MonthApproval.commune_id.in_(commune_ids), MonthApproval.state == "approved")))
    communes = {c.id: c for c in db.session.scalars(
        select(Commune).where(Commune.id.in_({a.commune_id for a in approvals})))}
    for approval in approvals:
        _check(approval, communes[approval.commune_id])
    stale = sum(1 for a in approvals if a.state == "stale")
    db.session.commit()
    return stale


def _uuids(values):
    out = set()
    for value in values or ():
        try:
            out.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    return out


def check_touched(touched):
    """The coverage refresh job's hook: check the communes of what one push touched.

    Never fails the refresh it follows (without Redis that is the push itself): the console
    checks again whenever it shows a month.
    """
    try:
        return _check_touched(touched)
    except Exception:  # noqa: BLE001 - the figures are refreshed; staleness is re-checked later
        db.session.rollback()
        log.exception("checking approved months after a refresh failed")
        return 0


def _check_touched(touched):
    hamlets = set()
    for model, key in ((Household, "households"), (Resident, "residents"), (Visit, "visits")):
        ids = _uuids(touched.get(key, ()))
        if ids:
            hamlets |= set(db.session.scalars(select(model.hamlet_id).distinct()
                                              .where(model.id.in_(ids))))
    if not hamlets:
        return 0
    communes = set(db.session.scalars(select(Hamlet.commune_id).distinct()
                                      .where(Hamlet.id.in_(hamlets))))
    return check_communes(communes)
