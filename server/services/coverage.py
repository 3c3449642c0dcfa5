"""Coverage figures per hamlet, read from the summary rows (never from the visits).

Definitions (API.md "Coverage", docs/decisions.md "Coverage"): a visit counts unless it was
rejected in review or its household was deleted (erased or merged); figures follow the
household's and resident's *current* hamlet; ``has`` counts adults by ``birth_year <=
year(to) - ADULT_AGE`` whose latest result up to ``to`` is ``done`` or ``already_had``.

Features that change what counts without a push call these, after their commit:
- ``visits_changed(visit_ids)`` — a visit's review state changed (e.g. rejected);
- ``households_changed(household_ids)`` — households erased, merged or moved;
- ``residents_changed(resident_ids)`` — residents edited outside sync (birth year, household).
Each recomputes only what those records feed (``server.services.aggregates.refresh``).
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, union_all

from server.errors import Forbidden, Invalid, NotFound
from server.extensions import db
from server.models import (Campaign, CampaignHamlet, CampaignHamletService, Commune, Hamlet,
                           HamletMonth, HamletServiceDay, HamletServiceMonth, Household,
                           HouseholdDay, Province, Service, SubjectDay)
from server.models.coverage import MAX_ADULT_AGE, HamletHasMonth
from server.services import aggregates
from server.services.coverage_targets import applicable_targets, target_for
from server.vocab import Role


def visits_changed(visit_ids):
    """Recompute what these visits feed (after a review decision); commits."""
    aggregates.refresh(visit_ids=visit_ids)


def households_changed(household_ids):
    """Recompute what these households feed (after an erase, merge or move); commits."""
    aggregates.refresh(household_ids=household_ids)


def residents_changed(resident_ids):
    """Recompute what these residents feed (after an edit outside sync); commits."""
    aggregates.refresh(resident_ids=resident_ids)


def scoped_hamlets(principal, commune_code):
    """``(commune, [hamlets])`` the caller may read; 404 unknown commune, 403 outside scope."""
    commune = db.session.scalar(select(Commune).where(Commune.code == commune_code,
                                                      Commune.valid_to.is_(None)))
    if commune is None:
        raise NotFound("Unknown commune")
    role = principal.role
    allowed = (role == Role.ADMIN
               or (role == Role.PROVINCE_ANALYST and commune.province_id == principal.province_id)
               or (role in (Role.COMMUNE_OFFICER, Role.TEAM_LEAD, Role.MEMBER)
                   and commune.id == principal.commune_id))
    if not allowed:
        raise Forbidden("Commune outside your scope")
    query = select(Hamlet).where(Hamlet.commune_id == commune.id, Hamlet.valid_to.is_(None))
    hamlets = [h for h in db.session.scalars(query.order_by(Hamlet.code))
               if principal.can_see_hamlet(h.id)]
    return commune, hamlets


def resolve_period(args):
    """``(first, last, campaign)`` from the query: explicit dates, or a campaign's period."""
    campaign = None
    if args.get("campaign") is not None:
        campaign = db.session.get(Campaign, args["campaign"])
        if campaign is None:
            raise NotFound("Unknown campaign")
    first = args.get("from") or (campaign.date_from if campaign else None)
    last = args.get("to") or (campaign.date_to if campaign else None)
    if first is None or last is None:
        raise Invalid(fields={"from": ["from and to are required unless a campaign is given"]})
    if first > last:
        raise Invalid(fields={"to": ["must not be before from"]})
    if (last - first).days + 1 > 366:
        raise Invalid(fields={"to": ["a period is at most 366 days"]})
    return first, last, campaign


def _campaign_of(first, last, campaign):
    if campaign is not None and (campaign.date_from, campaign.date_to) == (first, last):
        return campaign
    return db.session.scalar(select(Campaign).where(Campaign.date_from == first,
                                                    Campaign.date_to == last).limit(1))


def _visit_columns(model):
    return select(model.hamlet_id, model.visits, model.households_reached)


def _service_columns(model):
    return select(model.hamlet_id, model.service_code, model.supported, model.already_had)


def _distinct_counts(ids, first, last, campaign):
    """``({hamlet: (visits, reached)}, {(hamlet, service): (supported, already_had)})``.

    A whole month or a campaign's period reads its summary rows; any other range counts
    distinct households/subjects over the compact day rows of that range (at most 366 days).
    """
    if (first, last) == aggregates.month_bounds(first):
        v, s = HamletMonth, HamletServiceMonth
        visits = _visit_columns(v).where(v.hamlet_id.in_(ids), v.month == first)
        services = _service_columns(s).where(s.hamlet_id.in_(ids), s.month == first)
    elif (campaign := _campaign_of(first, last, campaign)) is not None:
        v, s = CampaignHamlet, CampaignHamletService
        visits = _visit_columns(v).where(v.hamlet_id.in_(ids), v.campaign_id == campaign.id)
        services = _service_columns(s).where(s.hamlet_id.in_(ids), s.campaign_id == campaign.id)
    else:
        visits = aggregates.period_visit_counts(HouseholdDay.hamlet_id.in_(ids), first, last)
        services = aggregates.period_service_counts(SubjectDay.hamlet_id.in_(ids), first, last)
    visit_rows, service_rows = db.session.execute(visits), db.session.execute(services)
    return ({r.hamlet_id: (r.visits, r.households_reached) for r in visit_rows},
            {(r.hamlet_id, r.service_code): (r.supported, r.already_had) for r in service_rows})


def _adult_age():
    age = current_app.config["ADULT_AGE"]
    if age > MAX_ADULT_AGE:  # the summary rows fold birth years by MAX_ADULT_AGE
        raise RuntimeError(f"ADULT_AGE {age} > MAX_ADULT_AGE {MAX_ADULT_AGE}: raise it in "
                           "server/models/coverage.py, then run `flask aggregates rebuild`")
    return age


def _has_deltas(ids, through, *where):
    """``SELECT hamlet_id, service_code, birth_year, has_delta`` of every change to ``has`` up
    to the end of the day ``through``: the month rows of earlier months, then that month's day
    rows up to ``through`` — or, nearer the month's end, the month rows up to ``through``'s month
    and minus its day rows after ``through`` (bounded by months of history and half a month of
    days, never by visits; a month-end ``to`` reads no day row)."""
    m, d = HamletHasMonth, HamletServiceDay
    first, last = aggregates.month_bounds(through)
    if last - through < through - first:
        # Nearer the month's end: the whole month's row, minus the days after ``through``.
        months = m.month <= first
        days, sign = d.day.between(through + timedelta(days=1), last), -1
    else:
        months, days, sign = m.month < first, d.day.between(first, through), 1
    months = (select(m.hamlet_id, m.service_code, m.birth_year, m.has_delta)
              .where(m.hamlet_id.in_(ids), months, *(w(m) for w in where)))
    days = (select(d.hamlet_id, d.service_code, d.birth_year,
                   (sign * d.has_delta).label("has_delta"))
            .where(d.hamlet_id.in_(ids), days, *(w(d) for w in where)))
    return union_all(months, days).subquery("deltas")


def has_counts(ids, last):
    """``{(hamlet, service): adults who have the service at the end of ``last``}``."""
    cutoff = last.year - _adult_age()
    deltas = _has_deltas(ids, last, lambda t: t.birth_year <= cutoff)
    query = (select(deltas.c.hamlet_id, deltas.c.service_code, func.sum(deltas.c.has_delta))
             .group_by(deltas.c.hamlet_id, deltas.c.service_code))
    return {(h, code): int(total) for h, code, total in db.session.execute(query)}


def _registered(ids):
    query = (select(Household.hamlet_id, func.count()).where(
        Household.hamlet_id.in_(ids), Household.deleted.is_(False)).group_by(Household.hamlet_id))
    return dict(db.session.execute(query).all())


def _ratio(part, whole):
    return round(part / whole, 4) if whole else None


def _figures(base, services, catalogue, targets, last):
    """A hamlet's (or the commune's) row with its rates and gaps to the targets."""
    rates = {"households_reached": _ratio(base["households_reached"], base["households_total"])}
    for code, service in catalogue.items():
        if service.unit == "person":
            rates[f"adults_with_{code}"] = _ratio(services[code]["has"], base["adults_total"])
    return {**base, "services": services, "rates": rates,
            "targets": {name: target_for(targets, name, rates.get(name), last)
                        for name in sorted(targets)}}


def hamlet_rows(hamlets, first, last, campaign, province_code):
    """``(catalogue, targets, rows)``: each hamlet's figures over a period, as the API's rows.

    One set of queries for any number of hamlets (the province pull reads a whole province)."""
    ids = [h.id for h in hamlets]
    catalogue = {s.code: s for s in db.session.scalars(
        select(Service).where(Service.active).order_by(Service.sort_order, Service.code))}
    visits, services = _distinct_counts(ids, first, last, campaign)
    has, registered = has_counts(ids, last), _registered(ids)
    targets = applicable_targets(province_code)
    rows = []
    for hamlet in hamlets:
        seen, reached = visits.get(hamlet.id, (0, 0))
        base = {"hamlet_id": hamlet.id, "code": hamlet.code, "name": hamlet.name,
                "households_total": hamlet.households_total,
                "households_registered": registered.get(hamlet.id, 0),
                "households_reached": reached, "visits": seen,
                "adults_total": hamlet.adults_total}
        figures = {code: dict(zip(("supported", "already_had"),
                                  services.get((hamlet.id, code), (0, 0))),
                              has=has.get((hamlet.id, code), 0)) for code in catalogue}
        rows.append(_figures(base, figures, catalogue, targets, last))
    return catalogue, targets, rows


COUNTS = ("households_total", "households_registered", "households_reached", "visits",
          "adults_total")
SERVICE_COUNTS = ("supported", "already_had", "has")


def totals(rows, catalogue, targets, last):
    """The sums of ``rows`` (hamlets, or communes) with their own rates and gaps.

    A row without a service (an approved snapshot older than the service) counts 0 for it."""
    total = {key: sum(r[key] for r in rows) for key in COUNTS}
    total_services = {code: {k: sum(r["services"].get(code, {}).get(k, 0) for r in rows)
                             for k in SERVICE_COUNTS} for code in catalogue}
    return _figures(total, total_services, catalogue, targets, last)


def coverage(principal, args):
    """Per-hamlet figures of a commune over a period, and the commune's totals."""
    commune, hamlets = scoped_hamlets(principal, args["commune"])
    first, last, campaign = resolve_period(args)
    province_code = db.session.get(Province, commune.province_id).code
    catalogue, targets, rows = hamlet_rows(hamlets, first, last, campaign, province_code)
    return {"commune": {"code": commune.code, "name": commune.name,
                        **totals(rows, catalogue, targets, last)},
            "hamlets": rows, "period": {"from": first, "to": last},
            "campaign": campaign}


def daily(principal, args):
    """Cumulative ``supported`` (from ``from``) and ``has`` (at each day's end) of one service."""
    commune, hamlets = scoped_hamlets(principal, args["commune"])
    first, last, _ = resolve_period(args)
    service = db.session.get(Service, args["service"])
    if service is None:
        raise Invalid(fields={"service": ["unknown service code"]})
    ids = [h.id for h in hamlets]
    s = SubjectDay
    firsts = {}
    for hamlet_id, day, count in db.session.execute(
            select(s.hamlet_id, func.min(s.day).label("d"), s.subject_id)
            .where(s.hamlet_id.in_(ids), s.service_code == service.code, s.done == 1,
                   s.day.between(first, last)).group_by(s.hamlet_id, s.subject_id)):
        firsts[(hamlet_id, day)] = firsts.get((hamlet_id, day), 0) + 1
    d = HamletServiceDay
    by_year = {h: {} for h in ids}  # hamlet -> birth year -> subjects that have it
    before = _has_deltas(ids, first - timedelta(days=1), lambda t: t.service_code == service.code)
    for hamlet_id, birth_year, total in db.session.execute(
            select(before.c.hamlet_id, before.c.birth_year, func.sum(before.c.has_delta))
            .group_by(before.c.hamlet_id, before.c.birth_year)):
        by_year[hamlet_id][birth_year] = int(total)
    deltas = {}
    for hamlet_id, day, birth_year, delta in db.session.execute(
            select(d.hamlet_id, d.day, d.birth_year, d.has_delta)
            .where(d.hamlet_id.in_(ids), d.service_code == service.code,
                   d.day.between(first, last), d.has_delta != 0)):
        deltas.setdefault(day, []).append((hamlet_id, birth_year, delta))
    adult_age = _adult_age()
    supported = {h: 0 for h in ids}
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        for hamlet_id, birth_year, delta in deltas.get(day, ()):
            years = by_year[hamlet_id]
            years[birth_year] = years.get(birth_year, 0) + delta
        cutoff = day.year - adult_age
        per_hamlet = {}
        for h in ids:
            supported[h] += firsts.get((h, day), 0)
            has = sum(n for year, n in by_year[h].items() if year <= cutoff)
            per_hamlet[str(h)] = {"has": has, "supported": supported[h]}
        days.append({"date": day, "hamlets": per_hamlet, "commune": {
            key: sum(v[key] for v in per_hamlet.values()) for key in ("has", "supported")}})
    targets = applicable_targets(db.session.get(Province, commune.province_id).code)
    indicator = f"adults_with_{service.code}"
    target = target_for(targets, indicator, None, last)
    return {"service": service.code,
            "target": dict(target, indicator=indicator) if target else None, "days": days}
