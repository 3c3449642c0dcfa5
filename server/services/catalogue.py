"""The service catalogue: which codes a visit may carry, and the admin's changes to it.

The catalogue is data (DESIGN.md): an admin relabels, adds or retires a service without a
release. Every change takes the next number of the ``catalogue`` change counter, so phones
learn it through pull (a retired service arrives with ``active: false`` and leaves the visit
form). A retired code stays valid on visits recorded before its retirement: a phone offline
since then still delivers them; visits recorded afterwards are refused ``unknown_service``.
"""
import re

from sqlalchemy import func, select

from server.errors import NotFound
from server.extensions import db
from server.models import Service, VisitService
from server.models.types import utcnow
from server.services import audit
from server.services.admin_input import Problems, refuse, text
from server.services.changes import CATALOGUE, ChangeClock
from server.vocab import SERVICE_UNITS, TEXT

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
SKILLS = ("1", "2", "3", "4", "5", "all")  # the five basic digital skills, or all of them
LABEL_MAX = 255
PROVIDERS_MAX = 20
SORT_MAX = 10_000


def usable_on_visit(service, visited_at):
    """True when a visit at ``visited_at`` may carry ``service`` (None: unknown code)."""
    if service is None:
        return False
    return service.active or (service.retired_at is not None and visited_at < service.retired_at)


def services():
    """The whole catalogue, active and retired, in display order."""
    return list(db.session.scalars(select(Service).order_by(Service.sort_order, Service.code)))


def get(code):
    """One service; 404 when unknown."""
    service = db.session.get(Service, code) if isinstance(code, str) else None
    if service is None:
        raise NotFound("Unknown service")
    return service


def visit_lines(code):
    """How many visit lines carry ``code`` (shown before retiring: they keep it)."""
    return db.session.scalar(select(func.count()).select_from(VisitService)
                             .where(VisitService.service_code == code))


def _details(problems, label, skill, providers, sort_order):
    label = text(problems, "label", label, LABEL_MAX)
    if skill not in (None, "") and skill not in SKILLS:
        problems.add("skill", "Kỹ năng số không hợp lệ")
    kind, max_length = TEXT["service.provider"]
    cleaned = []
    for name in providers or ():
        name = text(problems, "providers", name, max_length, kind, required=False)
        if name and name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > PROVIDERS_MAX:
        problems.add("providers", f"Tối đa {PROVIDERS_MAX} nhà cung cấp")
    if not isinstance(sort_order, int) or isinstance(sort_order, bool) \
            or not 0 <= sort_order <= SORT_MAX:
        problems.add("sort_order", f"Phải là số nguyên từ 0 đến {SORT_MAX}")
    return {"label": label, "skill": skill or None, "providers": cleaned,
            "sort_order": sort_order}


def _publish(principal, service, action, details):
    """Number the change for pull, stamp it and audit-log it; commits."""
    clock = ChangeClock(CATALOGUE)  # locks the counter: catalogue changes queue here
    service.change_seq = clock.next()
    service.updated_at = utcnow()
    clock.save()
    audit.record(principal.actor, action, "service", service.code, details,
                 user_id=principal.user.id)
    db.session.commit()
    return service


def add(principal, code, label, unit, skill=None, providers=(), sort_order=None):
    """A new service, active at once."""
    problems = Problems()
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        problems.add("code", "Mã gồm 2–16 chữ in hoa không dấu, chữ số hoặc dấu gạch dưới, "
                             "bắt đầu bằng chữ")
    elif db.session.get(Service, code) is not None:
        problems.add("code", "Mã này đã có trong danh mục (kể cả dịch vụ đã ngừng)")
    if unit not in SERVICE_UNITS:
        problems.add("unit", "Đối tượng không hợp lệ")
    if sort_order is None:
        sort_order = (db.session.scalar(select(func.max(Service.sort_order))) or 0) + 1
    details = _details(problems, label, skill, providers, sort_order)
    problems.raise_if_any()
    service = Service(code=code, unit=unit, active=True, **details)
    db.session.add(service)
    return _publish(principal, service, "service.create", {"unit": unit, **details})


def update(principal, code, label, skill=None, providers=(), sort_order=0):
    """Relabel a service (its code and unit never change: old visits keep their meaning)."""
    service = get(code)
    problems = Problems()
    details = _details(problems, label, skill, providers, sort_order)
    problems.raise_if_any()
    before = {key: getattr(service, key) for key in details}
    if before == details:
        return service
    for key, value in details.items():
        setattr(service, key, value)
    changed = {key: [before[key], value] for key, value in details.items() if before[key] != value}
    return _publish(principal, service, "service.update", {"changed": changed})


def retire(principal, code):
    """Stop offering a service; visits recorded until now keep it."""
    service = get(code)
    if not service.active:
        refuse("code", "Dịch vụ này đã ngừng")
    service.active = False
    service.retired_at = utcnow()
    return _publish(principal, service, "service.retire",
                    {"visit_lines": visit_lines(service.code)})


def restore(principal, code):
    """Offer a retired service again."""
    service = get(code)
    if service.active:
        refuse("code", "Dịch vụ này đang được dùng")
    retired_at = service.retired_at
    service.active = True
    service.retired_at = None
    return _publish(principal, service, "service.restore",
                    {"retired_at": retired_at.isoformat() if retired_at else None})
