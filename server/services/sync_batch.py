"""What one push knows while it applies its items: scope, catalogue, the records it refers to.

Two ways to store: the fast path queues new rows and writes each table with one bulk INSERT at
the end; the careful path (after a bulk INSERT met a row another transaction stored first) adds
each item in its own SAVEPOINT so only that item is answered from the stored copy.
"""
from dataclasses import dataclass, field

from sqlalchemy import func, select

from server.extensions import db
from server.models import FollowUp, Hamlet, Household, Resident, Service, Visit, VisitService
from server.models.types import utcnow
from server.services.changes import ChangeClock, commune_scope
from server.vocab import REACHED_OUTCOMES, Problem, code_of

# Insert order follows the foreign keys.
NEW_ROW_MODELS = (Household, Resident, Visit, VisitService, FollowUp)


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

    @property
    def codes(self):
        """The stable code of each error message, by field."""
        return {path: [code_of(m) for m in messages] for path, messages in self.errors.items()}


class Batch:
    """What one push needs to know, loaded once: scope, catalogue, records it refers to."""

    def __init__(self, principal, device_id, items, careful=False):
        """``items``: the validated items, ``{"type", "id", "base_version", "data"}``."""
        self.principal = principal
        self.careful = careful
        self.new = {model: [] for model in NEW_ROW_MODELS}
        self.device_id = device_id
        self.now = utcnow()
        # Taken first, before any row lock, so concurrent pushes queue here and never deadlock.
        self.clock = ChangeClock(commune_scope(principal.commune_id))
        self.catalogue = {s.code: s for s in db.session.scalars(select(Service))}
        self.hamlets = {}
        self.touched_hamlets = set()
        self.touched_visits = set()  # new visits, for the coverage refresh
        # Revised visits: every row their old content may have made (old day, old lines).
        self.revised_households, self.revised_residents = set(), set()
        self._prefetch(items)

    def _prefetch(self, items):
        ids = {"household": set(), "resident": set(), "visit": set()}
        referenced = set()
        for item in items:
            ids[item["type"]].add(item["id"])
            if "household_id" in item["data"]:
                referenced.add(item["data"]["household_id"])
        self.households = {i: None for i in ids["household"]}
        for row in db.session.scalars(select(Household).where(Household.id.in_(ids["household"]))):
            self.households[row.id] = row
        # Residents and visits only need a household's hamlet and liveness, not the whole row.
        self.household_refs = {row.id: row for row in db.session.execute(
            select(Household.id, Household.hamlet_id, Household.deleted)
            .where(Household.id.in_(referenced - ids["household"])))}
        ids["household"] |= referenced
        self.residents = {i: None for i in ids["resident"]}
        for row in db.session.scalars(select(Resident).where(Resident.id.in_(ids["resident"]))):
            self.residents[row.id] = row
        # Visits only need to know who lives where: ids, not whole rows.
        self.members, self.home = {}, {}
        query = select(Resident.id, Resident.household_id).where(
            Resident.household_id.in_(ids["household"]), Resident.deleted.is_(False))
        for resident_id, household_id in db.session.execute(query):
            self.members.setdefault(household_id, set()).add(resident_id)
            self.home[resident_id] = household_id
        self.visits = {i: None for i in ids["visit"]}
        for row in db.session.scalars(select(Visit).where(Visit.id.in_(ids["visit"]))):
            self.visits[row.id] = row
        self.open_followups = {}  # household id -> [(visited_at of the promising visit, row)]
        query = (select(Visit.visited_at, FollowUp).join(Visit, Visit.id == FollowUp.visit_id)
                 .where(FollowUp.household_id.in_(ids["household"]), FollowUp.status == "open"))
        for visited_at, row in db.session.execute(query):
            self.open_followups.setdefault(row.household_id, []).append((visited_at, row))
        # The latest reaching visit per household: a visit recorded offline that arrives after a
        # later one (another phone synced first) promises a follow-up that is already settled.
        self.last_reach = dict(db.session.execute(
            select(Visit.household_id, func.max(Visit.visited_at))
            .where(Visit.household_id.in_(ids["household"]), Visit.outcome.in_(REACHED_OUTCOMES))
            .group_by(Visit.household_id)).all())

    def remember_resident(self, row):
        """Index a resident by id and, while it lives there, by household."""
        self.residents[row.id] = row
        previous = self.home.pop(row.id, None)
        if previous is not None:
            self.members[previous].discard(row.id)
        if not row.deleted:
            self.members.setdefault(row.household_id, set()).add(row.id)
            self.home[row.id] = row.household_id

    def residents_of(self, household_id):
        """Every resident row of a household: stored ones and those new in this batch."""
        rows = {r.id: r for r in db.session.scalars(
            select(Resident).where(Resident.household_id == household_id))}
        rows.update({r.id: r for r in self.residents.values()
                     if r is not None and r.household_id == household_id})
        return rows.values()

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
            raise Rejected({"hamlet_id": [Problem("unknown_hamlet")]})
        if not self.principal.can_see_hamlet(hamlet_id):
            raise Rejected({"hamlet_id": [Problem("out_of_scope", "hamlet outside your hamlets")]})
        return hamlet

    def household(self, household_id, field_name="household_id"):
        """A stored, live household in scope; Rejected otherwise."""
        if household_id in self.households:
            row = self.households[household_id]
        elif household_id in self.household_refs:
            row = self.household_refs[household_id]
        else:
            row = self.households[household_id] = db.session.get(Household, household_id)
        if row is None or row.deleted:
            raise Rejected({field_name: [Problem("unknown_household")]})
        if not self.principal.can_see_hamlet(row.hamlet_id):
            raise Rejected({field_name: [Problem("out_of_scope",
                                                  "household outside your hamlets")]})
        return row

    def own(self, row, what):
        """Refuse to touch (or reveal) an existing record outside the caller's hamlets."""
        if row is not None and not self.principal.can_see_hamlet(row.hamlet_id):
            raise Rejected({"id": [Problem(
                "out_of_scope", f"this id belongs to a {what} outside your hamlets")]})



    def store(self, row):
        """Keep a new row: added to the session now (careful) or bulk-inserted at the end."""
        if isinstance(row, Visit):
            self.touched_visits.add(row.id)
        if self.careful:
            db.session.add(row)
        else:
            self.new[type(row)].append(row)

    def store_rows(self, model, values):
        """Keep new rows given as column values (no ORM object: nothing reads them back)."""
        if self.careful:
            db.session.add_all(model(**v) for v in values)
        else:
            self.new[model].extend(values)

    def coverage_touched(self):
        """What the coverage refresh must recompute, as JSON: new visits, pushed households and
        residents (an id too many costs a little work, never a wrong figure)."""
        households = {i for i, row in self.households.items() if row is not None}
        residents = {i for i, row in self.residents.items() if row is not None}
        return {"visits": sorted(map(str, self.touched_visits)),
                "households": sorted(map(str, households | self.revised_households)),
                "residents": sorted(map(str, residents | self.revised_residents))}

    def write_new_rows(self):
        """Bulk-insert the queued rows; IntegrityError if another transaction took an id."""
        db.session.flush()  # edits of rows that already existed
        for model in NEW_ROW_MODELS:
            if self.new[model]:
                # No ON CONFLICT: a taken id must fail the statement so the push is redone
                # item by item (see module docstring).
                db.session.execute(model.__table__.insert(), [
                    row if isinstance(row, dict) else _insert_values(row)
                    for row in self.new[model]])


def _insert_values(row):
    """Column values of a transient row, with the column defaults the ORM would have applied."""
    values = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key, None)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        if value is None and column.primary_key:
            continue  # an autoincrement key: the database numbers the row
        values[column.key] = value
    return values
