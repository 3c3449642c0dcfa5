"""The province's figures: every commune (or hamlet, or the province as one row) over a period.

The figures are the coverage service's (``coverage.hamlet_rows``/``totals``: same names, same
definitions as ``GET /api/v1/coverage``), read for the whole province in one set of queries.
Each commune row carries the commune's approval of the period: ``approved`` when the commune
approved every calendar month the period touches (``services/approvals.py``). With
``state=approved`` a commune whose approved snapshot covers exactly the period (one calendar
month) is served from that snapshot, any other commune with its live figures, and each row says
which (``figures``: ``approved`` | ``live``). ``level=province`` is one row: the sums of the
commune rows served, with rates and gaps recomputed from those sums. Nothing personal is read:
only units, their baselines and the summary rows. See docs/decisions.md, "Province pull and
province page".
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from geoalchemy2 import functions as geo
from sqlalchemy import select
from sqlalchemy.orm import defer

from server.errors import Forbidden, Invalid, NotFound
from server.extensions import db
from server.models import Commune, Hamlet, MonthApproval, Province
from server.services import aggregates, audit, coverage
from server.vocab import Role

LEVELS = ("province", "commune", "hamlet")
STATES = ("approved", "live")
FORMATS = ("json", "csv", "xlsx")
FIGURE_KEYS = ("households_total", "households_registered", "households_reached", "visits",
               "adults_total", "services", "rates", "targets")
APPROVAL_COLUMNS = ["approval.state", "approval.approved_at", "approval.stale", "figures"]
UNIT_COLUMNS = {
    "province": ["code", "name", "communes_total", "communes_approved"],
    "commune": ["code", "name"],
    "hamlet": ["commune_code", "commune_name", "code", "name"],
}


@dataclass
class Pull:
    """What a pull answers: the rows of one level, their columns, and what was asked."""

    province: Province
    level: str
    state: str
    first: date
    last: date
    columns: list  # dotted names, for CSV/XLSX (the JSON rows nest them)
    rows: list
    total: dict  # the province row (whatever the level)

    def document(self):
        """The JSON answer."""
        return {"province": {"code": self.province.code, "name": self.province.name},
                "level": self.level, "state": self.state,
                "period": {"from": self.first.isoformat(), "to": self.last.isoformat()},
                "columns": self.columns, "rows": self.rows}

    def etag(self, fmt):
        """A strong validator of this answer in ``fmt`` (the same figures give the same tag)."""
        text = json.dumps([fmt, self.document()], sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:40]


def province_of(principal, code=None):
    """The province a caller may pull: a key's or an analyst's own (403 for another one); an
    admin's by ``code`` (default: their own, else the first current province)."""
    query = select(Province).where(Province.valid_to.is_(None))
    if principal.role == Role.ADMIN:
        if code:
            query = query.where(Province.code == code)
        elif principal.province_id:
            query = query.where(Province.id == principal.province_id)
        province = db.session.scalar(query.order_by(Province.code).limit(1))
        if province is None:
            raise NotFound("Unknown province")
        return province
    province = db.session.get(Province, principal.province_id) if principal.province_id else None
    if province is None:
        raise Forbidden("No province")
    if code and code != province.code:
        raise Forbidden("Another province's figures are not served")
    return province


def _communes(province, commune_code):
    query = select(Commune).options(defer(Commune.boundary)).where(Commune.valid_to.is_(None))
    if commune_code:
        commune = db.session.scalar(query.where(Commune.code == commune_code))
        if commune is None:
            raise NotFound("Unknown commune")
        if commune.province_id != province.id:
            raise Forbidden("Commune of another province")
        return [commune]
    return list(db.session.scalars(query.where(Commune.province_id == province.id)
                                   .order_by(Commune.code)))


def _months(first, last):
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _approvals(communes, first, last):
    """``{commune id: (approval dict, snapshot or None)}`` for the period."""
    months = _months(first, last)
    found = {}
    for row in db.session.scalars(select(MonthApproval).where(
            MonthApproval.commune_id.in_([c.id for c in communes]),
            MonthApproval.month.in_(months), MonthApproval.state.in_(("approved", "stale")))):
        found[(row.commune_id, row.month)] = row
    whole_month = (first, last) == aggregates.month_bounds(first)
    out = {}
    for commune in communes:
        rows = [found.get((commune.id, m)) for m in months]
        if all(r is not None for r in rows):
            approved_at = max(r.approved_at for r in rows)
            approval = {"state": "approved",
                        "approved_at": approved_at.isoformat() if approved_at else None,
                        "stale": any(r.state == "stale" for r in rows)}
            snapshot = rows[0].snapshot if whole_month else None
        else:
            approval, snapshot = {"state": "open", "approved_at": None, "stale": False}, None
        out[commune.id] = (approval, snapshot)
    return out


def _figures(row):
    return {key: row[key] for key in FIGURE_KEYS if key in row}


def _json(row):
    """A live coverage row as the coverage schemas dump it (and so as a snapshot holds it): the
    targets' due days as ISO text; every other value is already an int, float or None.

    Not ``Figures().dump``: marshmallow builds a schema per nested value, seconds for the
    thousands of hamlets of a province (measured: 8 of 9 seconds for Đồng Nai's 2,850)."""
    targets = {name: t if t is None else {**t, "due": t["due"].isoformat()}
               for name, t in row["targets"].items()}
    return {**row, "targets": targets}


def _indicators(catalogue, target_names):
    columns = list(coverage.COUNTS)
    for code in catalogue:
        columns += [f"services.{code}.{k}" for k in coverage.SERVICE_COUNTS]
    columns.append("rates.households_reached")
    columns += [f"rates.adults_with_{code}" for code, s in catalogue.items() if s.unit == "person"]
    for name in target_names:
        columns += [f"targets.{name}.{k}" for k in ("target", "due", "gap")]
    return columns


def _check(args):
    errors = {}
    for name, allowed in (("level", LEVELS), ("state", STATES), ("format", FORMATS)):
        if args.get(name) not in allowed:
            errors[name] = [f"must be one of {', '.join(allowed)}"]
    if errors:
        raise Invalid(fields=errors)


def _province_row(province, communes, catalogue, targets, last):
    """The province as one row: the sums of the commune rows served, rates from the sums."""
    sources = {r["figures"] for r in communes}
    approved = [r for r in communes if r["approval"]["state"] == "approved"]
    everyone = bool(communes) and len(approved) == len(communes)
    stamps = [r["approval"]["approved_at"] for r in approved if r["approval"]["approved_at"]]
    return {"code": province.code, "name": province.name,
            "communes_total": len(communes), "communes_approved": len(approved),
            "approval": {"state": "approved" if everyone else "open",
                         "approved_at": max(stamps) if everyone and stamps else None,
                         "stale": any(r["approval"]["stale"] for r in approved)},
            "figures": sources.pop() if len(sources) == 1 else ("mixed" if sources else "live"),
            **_json(coverage.totals(communes, catalogue, targets, last))}


def aggregates_of(province, args):
    """The province's figures at ``args["level"]`` over ``from``..``to`` (see the module)."""
    args = {"level": "commune", "state": "approved", "format": "json", **{
        k: v for k, v in args.items() if v is not None}}
    _check(args)
    first, last, _ = coverage.resolve_period({"from": args.get("from"), "to": args.get("to")})
    communes = _communes(province, args.get("commune"))
    hamlets = list(db.session.scalars(
        select(Hamlet).options(defer(Hamlet.boundary))
        .where(Hamlet.commune_id.in_([c.id for c in communes]), Hamlet.valid_to.is_(None))
        .order_by(Hamlet.code)))
    catalogue, targets, rows = coverage.hamlet_rows(hamlets, first, last, None, province.code)
    by_commune = {c.id: [] for c in communes}
    for hamlet, row in zip(hamlets, rows):
        by_commune[hamlet.commune_id].append(row)
    approvals = _approvals(communes, first, last)
    use_snapshots = args["state"] == "approved"
    commune_rows, hamlet_rows = [], []
    for commune in communes:
        approval, snapshot = approvals[commune.id]
        if use_snapshots and snapshot is not None:
            source, total, hamlets_of = "approved", snapshot["commune"], snapshot["hamlets"]
        else:
            live = by_commune[commune.id]
            source, total = "live", _json(coverage.totals(live, catalogue, targets, last))
            hamlets_of = [_json(h) for h in live]
        state = {"approval": approval, "figures": source}
        commune_rows.append({"code": commune.code, "name": commune.name, **state,
                             **_figures(total)})
        hamlet_rows += [{"commune_code": commune.code, "commune_name": commune.name,
                         "code": h["code"], "name": h["name"], **state, **_figures(h)}
                        for h in hamlets_of]
    level = args["level"]
    total = _province_row(province, commune_rows, catalogue, targets, last)
    out = {"province": [total], "commune": commune_rows, "hamlet": hamlet_rows}[level]
    indicators = _indicators(catalogue, sorted(targets))
    return Pull(province, level, args["state"], first, last,
                UNIT_COLUMNS[level] + APPROVAL_COLUMNS + indicators, out, total)


def record_pull(actor, pull, fmt, status, user_id=None, via="api", commune=None):
    """Audit one pull (who, what was asked, how many rows); commits."""
    details = {"level": pull.level, "state": pull.state, "from": pull.first.isoformat(),
               "to": pull.last.isoformat(), "format": fmt, "rows": len(pull.rows),
               "status": status, "via": via}
    if commune:
        details["commune"] = commune
    audit.record(actor, "province.pull", "province", pull.province.code, details, user_id=user_id)
    db.session.commit()


def boundaries(province):
    """The current communes' boundaries of ``province`` as a GeoJSON FeatureCollection (the
    province page's map; 5 decimals, about a metre, keeps it small)."""
    rows = db.session.execute(
        select(Commune.id, Commune.code, Commune.name, geo.ST_AsGeoJSON(Commune.boundary, 5))
        .where(Commune.province_id == province.id, Commune.valid_to.is_(None),
               Commune.boundary.isnot(None)).order_by(Commune.code))
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": cid, "properties": {"code": code, "name": name},
         "geometry": json.loads(shape)} for cid, code, name, shape in rows if shape]}


def default_period(today):
    """The last month that has ended (months are what communes approve)."""
    return aggregates.month_bounds(today.replace(day=1) - timedelta(days=1))
