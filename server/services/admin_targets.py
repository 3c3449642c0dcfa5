"""Targets and campaigns of the provinces, for the admin (the rules that read them are in
``coverage_targets``).

A target is a share (0–1) of an indicator due by a date; the page shows and takes percentages.
A new or changed campaign's figures are recomputed by a job on the aggregates queue (in-process
without Redis), since its period decides which visits count.
"""
import math
import re
from datetime import date, timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import Campaign, Province, Service, Target
from server.services import audit
from server.services.admin_input import Problems, get_row, text
from server.services.queue import enqueue
from server.vocab import EARLIEST_DATE

INDICATOR = re.compile(r"^(households_reached|(adults|people_15)_with_[A-Z][A-Z0-9_]{1,15})$")
SOURCE_MAX = 120
NAME_MAX = 160
CAMPAIGN_MAX_DAYS = 3 * 366
LATEST_DUE = date(2100, 12, 31)
REFRESH_JOB = "jobs.campaigns.refresh_campaign"


def province_codes():
    """``{code: name}`` of provinces in force."""
    return dict(db.session.execute(select(Province.code, Province.name).where(
        Province.valid_to.is_(None)).order_by(Province.code)).all())


def indicators():
    """``[(indicator, service or None)]`` a target may name: households reached, and each
    person service's share of adults (18+) or of people from 15."""
    found = [("households_reached", None)]
    people = list(db.session.scalars(select(Service).where(Service.unit == "person")
                                     .order_by(Service.sort_order, Service.code)))
    found += [(f"adults_with_{s.code}", s) for s in people]
    found += [(f"people_15_with_{s.code}", s) for s in people]
    return found


def targets(province_code=None):
    """Targets by province, indicator and due date."""
    query = select(Target).order_by(Target.province_code, Target.indicator, Target.due)
    if province_code:
        query = query.where(Target.province_code == province_code)
    return list(db.session.scalars(query))


def target(target_id):
    """One target; 404 when unknown."""
    return get_row(Target, target_id, "Unknown target")


def _share(problems, field, percent, required=True):
    """A percentage (0–100) as a share (0–1), four decimals."""
    if percent is None:
        if required:
            problems.add(field, "Bắt buộc nhập")
        return None
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) \
            or not math.isfinite(percent) or not 0 < percent <= 100:
        problems.add(field, "Phải là phần trăm lớn hơn 0 và không quá 100")
        return None
    return round(percent / 100, 4)


def _target_fields(problems, province_code, indicator, percent, due, source, target_id=None):
    if province_code not in province_codes():
        problems.add("province_code", "Tỉnh không tồn tại hoặc đã hết hiệu lực")
    if not isinstance(indicator, str) or not INDICATOR.match(indicator):
        problems.add("indicator", "Chỉ tiêu không hợp lệ")
    value = _share(problems, "value", percent)
    if not isinstance(due, date) or not EARLIEST_DATE <= due <= LATEST_DUE:
        problems.add("due", f"Hạn phải từ {EARLIEST_DATE:%d/%m/%Y} đến {LATEST_DUE:%d/%m/%Y}")
    source = text(problems, "source", source, SOURCE_MAX, required=False)
    if not problems.fields:
        clash = select(Target.id).where(Target.province_code == province_code,
                                        Target.indicator == indicator, Target.due == due)
        if target_id is not None:
            clash = clash.where(Target.id != target_id)
        if db.session.scalar(clash) is not None:
            problems.add("due", "Tỉnh đã có chỉ tiêu này với cùng hạn")
    return {"province_code": province_code, "indicator": indicator, "value": value, "due": due,
            "source": source or ""}


def _jsonable(values):
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def add_target(principal, province_code, indicator, percent, due, source=""):
    """A new target."""
    problems = Problems()
    values = _target_fields(problems, province_code, indicator, percent, due, source)
    problems.raise_if_any()
    row = Target(**values)
    db.session.add(row)
    db.session.flush()
    audit.record(principal.actor, "target.create", "target", row.id, _jsonable(values),
                 user_id=principal.user.id)
    db.session.commit()
    return row


def update_target(principal, target_id, province_code, indicator, percent, due, source=""):
    """Change a target."""
    row = target(target_id)
    problems = Problems()
    values = _target_fields(problems, province_code, indicator, percent, due, source, row.id)
    problems.raise_if_any()
    before = {key: getattr(row, key) for key in values}
    if before == values:
        return row
    for key, value in values.items():
        setattr(row, key, value)
    audit.record(principal.actor, "target.update", "target", row.id,
                 {"before": _jsonable(before), "after": _jsonable(values)},
                 user_id=principal.user.id)
    db.session.commit()
    return row


# --- campaigns ------------------------------------------------------------------------------

def campaigns(province_code=None):
    """Campaigns, latest first."""
    query = select(Campaign).order_by(Campaign.date_from.desc(), Campaign.id.desc())
    if province_code:
        query = query.where(Campaign.province_code == province_code)
    return list(db.session.scalars(query))


def campaign(campaign_id):
    """One campaign; 404 when unknown."""
    return get_row(Campaign, campaign_id, "Unknown campaign")


def _campaign_fields(problems, province_code, name, date_from, date_to, services, percent):
    if province_code not in province_codes():
        problems.add("province_code", "Tỉnh không tồn tại hoặc đã hết hiệu lực")
    name = text(problems, "name", name, NAME_MAX)
    if not isinstance(date_from, date) or date_from < EARLIEST_DATE:
        problems.add("date_from", f"Ngày bắt đầu phải từ {EARLIEST_DATE:%d/%m/%Y}")
    elif not isinstance(date_to, date) or date_to < date_from:
        problems.add("date_to", "Ngày kết thúc phải từ ngày bắt đầu trở đi")
    elif date_to - date_from > timedelta(days=CAMPAIGN_MAX_DAYS):
        problems.add("date_to", "Một chiến dịch dài tối đa 3 năm")
    known = set(db.session.scalars(select(Service.code)))
    codes = sorted(set(services or ()))
    if not codes:
        problems.add("services", "Chọn ít nhất một dịch vụ")
    elif set(codes) - known:
        problems.add("services", "Có dịch vụ không có trong danh mục")
    share = _share(problems, "target", percent, required=False)
    return {"province_code": province_code, "name": name, "date_from": date_from,
            "date_to": date_to, "services": codes, "target": share}


def _refresh(row):
    enqueue(REFRESH_JOB, row.id, queue="aggregates")


def add_campaign(principal, province_code, name, date_from, date_to, services, percent=None):
    """A new campaign; its figures are computed by a job."""
    problems = Problems()
    values = _campaign_fields(problems, province_code, name, date_from, date_to, services, percent)
    problems.raise_if_any()
    row = Campaign(**values)
    db.session.add(row)
    db.session.flush()
    audit.record(principal.actor, "campaign.create", "campaign", row.id, _jsonable(values),
                 user_id=principal.user.id)
    db.session.commit()
    _refresh(row)
    return row


def update_campaign(principal, campaign_id, province_code, name, date_from, date_to, services,
                    percent=None):
    """Change a campaign; a new period recomputes its figures."""
    row = campaign(campaign_id)
    problems = Problems()
    values = _campaign_fields(problems, province_code, name, date_from, date_to, services, percent)
    problems.raise_if_any()
    before = {key: getattr(row, key) for key in values}
    if before == values:
        return row
    for key, value in values.items():
        setattr(row, key, value)
    audit.record(principal.actor, "campaign.update", "campaign", row.id,
                 {"before": _jsonable(before), "after": _jsonable(values)},
                 user_id=principal.user.id)
    db.session.commit()
    if (before["date_from"], before["date_to"]) != (row.date_from, row.date_to):
        _refresh(row)
    return row
