"""Checks and evidence for the ingest benchmark: what should be stored, what is, and where
the endpoint's time goes (SQL statements per item, time waiting on the database, cProfile)."""
import pstats
import re
import threading
import time
from collections import Counter

from sqlalchemy import event, func, select

from ingest_baseline import expected_followups

TABLES = ("households", "residents", "visits", "visit_services", "followups")


def expected_counts(clients):
    """Row counts the pushes must leave behind."""
    followups, still_open = expected_followups(clients)
    counts = {
        "households": sum(len(c.households) for c in clients),
        "residents": sum(len(c.residents) for c in clients),
        "visits": sum(len(c.visits) for c in clients),
        "visit_services": sum(len(v["data"]["services"]) for c in clients for v in c.visits),
        "followups": followups, "followups_open": still_open,
    }
    counts["items"] = counts["households"] + counts["residents"] + counts["visits"]
    return counts


def counts():
    """Row counts in the database (call inside an app context)."""
    from server.extensions import db
    from server.models import FollowUp, Household, Resident, Visit, VisitService

    found = {}
    for name, model in zip(TABLES, (Household, Resident, Visit, VisitService, FollowUp)):
        found[name] = db.session.scalar(select(func.count()).select_from(model))
    found["followups_open"] = db.session.scalar(
        select(func.count()).select_from(FollowUp).where(FollowUp.status == "open"))
    db.session.rollback()
    return found


def content():
    """Each table's rows as a multiset of their content, ids and timestamps of arrival left out.

    Comparing these after the baseline proves it wrote the same rows as the endpoint did.
    """
    from server.extensions import db
    from server.models import FollowUp, Household, Resident, Visit, VisitService

    queries = {
        "households": select(
            Household.hamlet_id, Household.address, Household.head_name,
            Household.members_count, Household.adults_count, Household.phone,
            func.ST_X(Household.location), func.ST_Y(Household.location),
            Household.location_accuracy_m, Household.version, Household.deleted),
        "residents": select(
            Resident.hamlet_id, Resident.full_name, Resident.birth_year, Resident.sex,
            Resident.phone, Resident.consent_given, Resident.consent_purposes,
            Resident.consent_at, Resident.anonymised, Resident.version),
        "visits": select(
            Visit.hamlet_id, Visit.member_id, Visit.device_id, Visit.visited_at, Visit.visited_on,
            func.ST_X(Visit.location), func.ST_Y(Visit.location), Visit.location_accuracy_m,
            Visit.outcome, Visit.notes, Visit.follow_up_on, Visit.review_state, Visit.revision),
        "visit_services": select(
            Visit.visited_at, Visit.notes, VisitService.service_code, Resident.full_name,
            Resident.birth_year, VisitService.result, VisitService.provider, VisitService.detail,
        ).join(Visit, Visit.id == VisitService.visit_id).outerjoin(
            Resident, Resident.id == VisitService.resident_id),
        "followups": select(
            FollowUp.hamlet_id, FollowUp.due_on, FollowUp.status, FollowUp.note,
            FollowUp.closed_at.is_(None), Visit.visited_at,
        ).join(Visit, Visit.id == FollowUp.visit_id),
    }
    found = {}
    for table, query in queries.items():
        found[table] = Counter(
            tuple(tuple(v) if isinstance(v, list) else v for v in row)
            for row in db.session.execute(query))
    db.session.rollback()
    return found


def compare(endpoint, now, copies):
    """Tables whose content is not ``copies`` times what the endpoint stored."""
    mismatches = {}
    for table, rows in endpoint.items():
        wanted = Counter({key: n * copies for key, n in rows.items()})
        if now[table] != wanted:
            extra = next(iter((now[table] - wanted) or (wanted - now[table])), None)
            mismatches[table] = (f"{sum(now[table].values())} rows, wanted "
                                 f"{sum(wanted.values())}; e.g. {extra}")
    return mismatches


class StatementCounter:
    """Counts SQL statements by kind and table, and the time spent waiting on them."""

    def __init__(self, engine):
        self.phase = None
        self.statements = Counter()
        self.seconds = Counter()
        self._started = threading.local()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def start(self, phase):
        self.phase = phase

    def stop(self):
        self.phase = None

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.at = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.phase is None:
            return
        key = (self.phase, _shape(statement))
        self.statements[key] += 1
        self.seconds[key] += time.perf_counter() - self._started.at

    def print(self, phases):
        """Statements per item and database wait per phase."""
        print("\nSQL per phase (counted with SQLAlchemy cursor events; seconds = time from "
              "sending a statement to its result, i.e. round trip + server work):")
        for phase, (wall, tally) in phases.items():
            rows = [(k[1], n, self.seconds[k]) for k, n in self.statements.items()
                    if k[0] == phase]
            total_n = sum(n for _, n, _ in rows)
            total_s = sum(s for _, _, s in rows)
            items = max(tally["items"], 1)
            print(f"  {phase}: {total_n:,} statements = {total_n / items:.1f} per item; "
                  f"{total_s:.2f}s of {wall:.2f}s wall ({total_s / wall:.0%}) waiting on SQL")
            for shape, n, seconds in sorted(rows, key=lambda r: -r[1])[:12]:
                print(f"    {n / items:6.2f}/item {n:>8,} {seconds:7.2f}s  {shape}")


def _shape(statement):
    words = statement.split()
    head = " ".join(words[:2]).upper()
    if head.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
        return words[0].upper() + (" " + words[1].upper() if words[0].upper() != "SAVEPOINT"
                                   else "")
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)", statement, re.I)
    return f"{words[0].upper()} {match.group(1) if match else ''}".strip()


def print_profile(profiler, path, top=25):
    """Dump the cProfile data to ``path`` and print the hot spots."""
    profiler.dump_stats(path)
    stats = pstats.Stats(path)
    print(f"\ncProfile of the endpoint phases (saved to {path}); cProfile slows Python code "
          f"down, so trust proportions more than seconds")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"server/|schemas/", top)
