"""Administrative units for the admin: provinces and communes to read, hamlets to manage.

Units keep ``valid_from``/``valid_to`` (``valid_to`` is the first day a unit is no longer in
force): a merger closes units and opens new ones, and a code may come back on a new unit once
its earlier holder is closed (unique per (code, valid_from); never two holders in force on one
day). A hamlet change takes the commune's next change number, so phones pull the new name, or
learn that a closed hamlet is gone.
"""
import re
from datetime import date

from sqlalchemy import func, select

from server.extensions import db
from server.models import Commune, Hamlet, Household, Province, Team, team_hamlets
from server.models.types import utcnow
from server.services import audit
from server.services.admin_input import Problems, get_row, text
from server.services.changes import ChangeClock, commune_scope
from server.vocab import COMMUNE_KINDS, EARLIEST_DATE, HAMLET_KINDS, local_day

NAME_MAX = 120


def provinces():
    """Every province, open and closed."""
    return list(db.session.scalars(select(Province).order_by(Province.code, Province.valid_from)))


def province(province_id):
    """One province; 404 when unknown."""
    return get_row(Province, province_id, "Unknown province")


def communes(province_id=None):
    """``[(commune, hamlets open, hamlets with a boundary)]``, by code."""
    open_hamlets = (select(Hamlet.commune_id, func.count().label("n"),
                           func.count(Hamlet.boundary).label("drawn"))
                    .where(Hamlet.valid_to.is_(None)).group_by(Hamlet.commune_id).subquery())
    query = (select(Commune, func.coalesce(open_hamlets.c.n, 0),
                    func.coalesce(open_hamlets.c.drawn, 0))
             .outerjoin(open_hamlets, open_hamlets.c.commune_id == Commune.id)
             .order_by(Commune.code, Commune.valid_from))
    if province_id is not None:
        query = query.where(Commune.province_id == province_id)
    return [tuple(row) for row in db.session.execute(query)]


def commune(commune_id):
    """One commune; 404 when unknown."""
    return get_row(Commune, commune_id, "Unknown commune")


def open_communes():
    """Communes in force, by code (for choosing a unit)."""
    return list(db.session.scalars(select(Commune).where(Commune.valid_to.is_(None))
                                   .order_by(Commune.code)))


def hamlets_of(commune_id):
    """A commune's hamlets, open and closed, by code."""
    return list(db.session.scalars(select(Hamlet).where(Hamlet.commune_id == commune_id)
                                   .order_by(Hamlet.code, Hamlet.valid_from)))


def hamlet(hamlet_id):
    """One hamlet; 404 when unknown."""
    return get_row(Hamlet, hamlet_id, "Unknown hamlet")


def hamlet_teams(hamlet_id):
    """The teams working a hamlet."""
    return list(db.session.scalars(
        select(Team).join(team_hamlets, team_hamlets.c.team_id == Team.id)
        .where(team_hamlets.c.hamlet_id == hamlet_id).order_by(Team.name)))


def live_households(hamlet_id):
    """How many households (not erased or merged away) a hamlet holds."""
    return db.session.scalar(select(func.count()).select_from(Household).where(
        Household.hamlet_id == hamlet_id, Household.deleted.is_(False)))


def next_hamlet_code(commune_row):
    """The first ``<commune code>-NNN`` after every hamlet code of this commune (a new commune
    that took an old one's code starts again at 001)."""
    codes = db.session.scalars(select(Hamlet.code).where(Hamlet.commune_id == commune_row.id))
    numbers = [int(c.rsplit("-", 1)[1]) for c in codes if re.fullmatch(r"\d{5}-\d{3}", c)]
    return f"{commune_row.code}-{max(numbers, default=0) + 1:03d}"


def _check_dates(problems, valid_from, parent):
    if not isinstance(valid_from, date):
        problems.add("valid_from", "Ngày không hợp lệ")
        return
    if valid_from < max(parent.valid_from, EARLIEST_DATE):
        problems.add("valid_from", f"Không được trước ngày {parent.valid_from:%d/%m/%Y}, "
                                   "ngày xã bắt đầu có hiệu lực")
    if parent.valid_to is not None and valid_from > parent.valid_to:
        problems.add("valid_from", f"Xã đã hết hiệu lực từ {parent.valid_to:%d/%m/%Y}")


def _check_code_free(problems, model, code, valid_from, noun, field="code", exclude_id=None):
    """A code is free from ``valid_from`` on when every other holder closed on or before it."""
    if not isinstance(valid_from, date):
        return
    query = select(model).where(model.code == code).order_by(model.valid_from)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    for holder in db.session.scalars(query):
        if holder.valid_to is None:
            problems.add(field, f"Mã này đang dùng cho {noun} {holder.name}. Chỉ dùng lại được "
                                 f"sau khi {noun} đó đóng (sáp nhập, chia tách).")
        elif holder.valid_to > valid_from or holder.valid_from >= valid_from:
            problems.add(field, f"Mã này thuộc {noun} {holder.name} đến ngày "
                                 f"{holder.valid_to:%d/%m/%Y}: {noun} mới phải bắt đầu sau ngày "
                                 f"{max(holder.valid_from, holder.valid_to):%d/%m/%Y}.")


def _closing_day_ok(problems, row, valid_to, noun):
    """Whether a unit may close on ``valid_to``: open, a real day, not before its first day nor
    in the future (a closing is recorded, not scheduled)."""
    if row.valid_to is not None:
        problems.add("valid_to", f"{noun.capitalize()} đã đóng từ {row.valid_to:%d/%m/%Y}")
    elif not isinstance(valid_to, date):
        problems.add("valid_to", "Ngày không hợp lệ")
    elif valid_to < row.valid_from:
        problems.add("valid_to", f"Không được trước ngày {noun} bắt đầu ({row.valid_from:%d/%m/%Y})")
    elif valid_to > local_day(utcnow()):
        problems.add("valid_to", f"Chỉ đóng {noun} từ hôm nay trở về trước")
    else:
        return True
    return False


def _fields(problems, name, kind, kinds=HAMLET_KINDS):
    name = text(problems, "name", name, NAME_MAX)
    if kind not in kinds:
        problems.add("kind", "Loại đơn vị không hợp lệ")
    return name


# A new unit's noun, and its parent's (for the messages of ``_new_code``).
_NOUNS = {Hamlet: ("ấp", "Xã"), Commune: ("xã", "Tỉnh")}


def _new_code(problems, parent, model, code, pattern, wrong_shape, valid_from):
    """The stripped code of a new ``model`` unit under ``parent``: the parent must be in force,
    the code match ``pattern`` (else ``wrong_shape`` is said) and be free from ``valid_from``."""
    noun, parent_noun = _NOUNS[model]
    if parent.valid_to is not None:
        problems.add("code", f"{parent_noun} đã hết hiệu lực: không thêm {noun} được")
    code = (code or "").strip()
    if not re.fullmatch(pattern, code):
        problems.add("code", wrong_shape)
    else:
        _check_code_free(problems, model, code, valid_from, noun)
    return code


def _created(principal, entity, row):
    """Flush a new unit already added (for its id), audit ``<entity>.create``, commit."""
    db.session.flush()
    audit.record(principal.actor, f"{entity}.create", entity, row.id,
                 {"code": row.code, "name": row.name, "kind": row.kind,
                  "valid_from": row.valid_from.isoformat()}, user_id=principal.user.id)
    db.session.commit()
    return row


def _stamp(hamlet_row):
    """Give the hamlet the commune's next change number (phones pull it); commit follows."""
    clock = ChangeClock(commune_scope(hamlet_row.commune_id))
    hamlet_row.change_seq = clock.next()
    clock.save()


def create_hamlet(principal, commune_id, code, name, kind, valid_from):
    """A new hamlet of an open commune."""
    parent = commune(commune_id)
    problems = Problems()
    code = _new_code(problems, parent, Hamlet, code, rf"{re.escape(parent.code)}-\d{{3}}",
                     f"Mã ấp có dạng {parent.code}-NNN (3 chữ số)", valid_from)
    name = _fields(problems, name, kind)
    _check_dates(problems, valid_from, parent)
    problems.raise_if_any()
    row = Hamlet(commune_id=parent.id, code=code, name=name, kind=kind, valid_from=valid_from,
                 households_total=0, adults_total=0)
    db.session.add(row)
    _stamp(row)
    return _created(principal, "hamlet", row)


def update_hamlet(principal, hamlet_id, name, kind, valid_from):
    """Rename a hamlet, change its kind or the day it began."""
    row = hamlet(hamlet_id)
    problems = Problems()
    if row.valid_to is not None:
        problems.add("name", "Ấp đã đóng: không sửa được")
    name = _fields(problems, name, kind)
    _check_dates(problems, valid_from, row.commune)
    if valid_from != row.valid_from:
        _check_code_free(problems, Hamlet, row.code, valid_from, "ấp", "valid_from", row.id)
    problems.raise_if_any()
    after = {"name": name, "kind": kind, "valid_from": valid_from}
    before = {key: getattr(row, key) for key in after}
    if before == after:
        return row
    for key, value in after.items():
        setattr(row, key, value)
    _stamp(row)
    audit.record(principal.actor, "hamlet.update", "hamlet", row.id,
                 {key: [str(before[key]), str(value)] for key, value in after.items()
                  if before[key] != value}, user_id=principal.user.id)
    db.session.commit()
    return row


def close_hamlet(principal, hamlet_id, valid_to):
    """Close a hamlet (merged, split or renamed into a new one) on ``valid_to``.

    Refused while households still live in it: they would drop out of every list and figure.
    Members move them to the new hamlet from their phones (or an import does) first.
    """
    row = hamlet(hamlet_id)
    problems = Problems()
    if _closing_day_ok(problems, row, valid_to, "ấp"):
        households = live_households(row.id)
        if households:
            problems.add("valid_to", f"Ấp còn {households} hộ. Hãy chuyển các hộ sang ấp mới "
                                     "trước khi đóng ấp.")
    problems.raise_if_any()
    row.valid_to = valid_to
    _stamp(row)
    audit.record(principal.actor, "hamlet.close", "hamlet", row.id,
                 {"valid_to": valid_to.isoformat()}, user_id=principal.user.id)
    db.session.commit()
    return row


def _audit_commune(principal, action, row, details):
    audit.record(principal.actor, action, "commune", row.id, details, user_id=principal.user.id)


def create_commune(principal, province_id, code, name, kind, valid_from):
    """A new commune or ward of an open province (after a merger it may take a closed one's
    code). Its boundary comes from ``flask units load-communes``; its hamlets from this console."""
    parent = province(province_id)
    problems = Problems()
    code = _new_code(problems, parent, Commune, code, r"\d{5}",
                     "Mã xã gồm 5 chữ số theo danh mục đơn vị hành chính", valid_from)
    name = _fields(problems, name, kind, COMMUNE_KINDS)
    if not isinstance(valid_from, date):
        problems.add("valid_from", "Ngày không hợp lệ")
    elif valid_from < max(parent.valid_from, EARLIEST_DATE):
        problems.add("valid_from", f"Không được trước ngày {max(parent.valid_from, EARLIEST_DATE):%d/%m/%Y}")
    problems.raise_if_any()
    row = Commune(province_id=parent.id, code=code, name=name, kind=kind, valid_from=valid_from)
    db.session.add(row)
    return _created(principal, "commune", row)


def close_commune(principal, commune_id, valid_to):
    """Close a commune on ``valid_to`` (merged into another); refused while a hamlet is open,
    since the hamlet's households and figures would lose their commune."""
    row = commune(commune_id)
    problems = Problems()
    if _closing_day_ok(problems, row, valid_to, "xã"):
        still_open = db.session.scalar(select(func.count()).select_from(Hamlet).where(
            Hamlet.commune_id == row.id, Hamlet.valid_to.is_(None)))
        if still_open:
            problems.add("valid_to", f"Xã còn {still_open} ấp đang hoạt động. Hãy đóng các ấp "
                                     "(sau khi chuyển hộ sang ấp của xã mới) trước.")
    problems.raise_if_any()
    row.valid_to = valid_to
    _audit_commune(principal, "commune.close", row, {"valid_to": valid_to.isoformat()})
    db.session.commit()
    return row
