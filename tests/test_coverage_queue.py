"""The coverage queue: a push leaves pending rows in its own transaction, one drain takes every
pending row of every commune at once, and drains that race or find nothing change nothing."""
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.coverage import CoveragePending
from server.services import aggregates
from tests.conftest import ENGINE, REDIS_URL, jobs_settled
from tests.factories import login
from tests.sync_helpers import household, push, resident, visit
from tests.test_coverage_definitions import at, cks, summary_rows

DAYS = (date(2025, 10, 3), date(2025, 10, 17), date(2025, 11, 2))
redis_only = pytest.mark.skipif(ENGINE != "postgresql" or not REDIS_URL,
                                reason="the queued drain needs Redis and rq")


def _pending(commune_id):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CoveragePending)
                             .where(CoveragePending.commune_id == commune_id))


def _homes(client, headers, world):
    """A household with two residents in each hamlet (one push)."""
    items, homes = [], []
    for hamlet_id in world.hamlet_ids:
        h = household(hamlet_id)
        people = [resident(h["id"], birth_year=1980), resident(h["id"], birth_year=2009)]
        items += [h, *people]
        homes.append((h["id"], [p["id"] for p in people]))
    code, body = push(client, headers, items)
    assert code == 200, body
    return homes


def _visits(homes, day, results):
    return [visit(hh, when=at(day), services=[cks(p, r) for p, r in zip(people, results)]
                  + [{"code": "TMDT", "resident_id": None, "result": results[0]}])
            for hh, people in homes]


def _burst(client, headers, homes):
    """Three pushes: re-visits, ``already_had`` then ``done``, ``in_progress`` later ``done``."""
    for day, results in zip(DAYS, (("in_progress", "already_had"), ("done", "declined"),
                                   ("done", "done"))):
        code, body = push(client, headers, _visits(homes, day, results))
        assert code == 200 and {r["status"] for r in body["results"]} == {"created"}, body


def _rebuilt(world):
    incremental = summary_rows(world.hamlet_ids)
    aggregates.rebuild(world.commune.code)
    return incremental, summary_rows(world.hamlet_ids)


def test_pushes_leave_nothing_pending_and_rows_equal_a_rebuild(client, world):
    headers = login(client, world.users["commune_officer"])
    _burst(client, headers, _homes(client, headers, world))
    assert jobs_settled("aggregates")
    assert _pending(world.commune.id) == 0
    incremental, rebuilt = _rebuilt(world)
    assert incremental == rebuilt and incremental["coverage_subject_days"]


@pytest.fixture
def held_queue():
    """What a queued drain that has not started looks like to a push: the marker (one for the
    province: taken away after the test, or the next tests' pushes would queue no drain)."""
    from redis import Redis

    from server.services.coverage_queue import MARKER

    redis = Redis.from_url(REDIS_URL)
    redis.set(MARKER, 1, ex=120)
    yield redis
    redis.delete(MARKER)


def _drain_jobs():
    """Ids of the drain jobs queued or finished (other tests' too: count the difference)."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    redis = Redis.from_url(REDIS_URL)
    queue = Queue("aggregates", connection=redis)
    ids = set(queue.get_job_ids()) | set(FinishedJobRegistry(queue=queue).get_job_ids())
    return {j.id for j in Job.fetch_many(list(ids), connection=redis) if j is not None
            and j.func_name == "jobs.aggregates.drain_coverage"}


@redis_only
def test_a_burst_of_pushes_costs_one_drain(app, client, world, held_queue):
    from server.services.queue import enqueue

    headers = login(client, world.users["commune_officer"])
    before = _drain_jobs()
    redis = held_queue
    homes = _homes(client, headers, world)
    _burst(client, headers, homes)
    assert jobs_settled("aggregates")
    # 2 households and 4 residents, then 3 pushes of 2 visits: all waiting, no job queued.
    assert _pending(world.commune.id) == 12 and _drain_jobs() == before
    assert summary_rows(world.hamlet_ids)["coverage_subject_days"] == []
    enqueue("jobs.aggregates.drain_coverage", queue="aggregates")  # the held one
    assert jobs_settled("aggregates")
    assert _pending(world.commune.id) == 0 and len(_drain_jobs() - before) == 1
    assert redis.get("cnscd:coverage-drain-queued") is None
    incremental, rebuilt = _rebuilt(world)
    assert incremental == rebuilt and incremental["coverage_subject_days"]
    # The next push finds no marker: it queues its own drain.
    code, _ = push(client, headers, _visits(homes, date(2025, 11, 5), ("done", "done")))
    assert code == 200 and jobs_settled("aggregates")
    assert _pending(world.commune.id) == 0 and len(_drain_jobs() - before) == 2


@redis_only
def test_the_communes_pushing_together_share_one_drain(app, client, world, other_world,
                                                       held_queue):
    """At a campaign peak every commune pushes: one drain takes all of them (drains are
    serialised province-wide, so one per commune only multiplied their fixed cost)."""
    from server.services.queue import enqueue

    before = _drain_jobs()
    for w in (world, other_world):
        headers = login(client, w.users["commune_officer"])
        _burst(client, headers, _homes(client, headers, w))
    assert jobs_settled("aggregates")
    assert (_pending(world.commune.id), _pending(other_world.commune.id)) == (12, 12)
    enqueue("jobs.aggregates.drain_coverage", queue="aggregates")
    assert jobs_settled("aggregates")
    assert (_pending(world.commune.id), _pending(other_world.commune.id)) == (0, 0)
    assert len(_drain_jobs() - before) == 1
    for w in (world, other_world):
        incremental, rebuilt = _rebuilt(w)
        assert incremental == rebuilt and incremental["coverage_subject_days"]


@redis_only
def test_pushes_within_the_drain_delay_share_one_delayed_drain(app, client, world):
    """With a delay, the first push's drain waits in rq's scheduled registry; the pushes of
    those seconds find the marker and queue nothing; the worker's scheduler then runs it."""
    import time

    from redis import Redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    headers = login(client, world.users["commune_officer"])
    homes = _homes(client, headers, world)
    assert jobs_settled("aggregates") and _pending(world.commune.id) == 0
    before = _drain_jobs()
    app.config["COVERAGE_DRAIN_DELAY_SECONDS"] = 2
    _burst(client, headers, homes)
    scheduled = ScheduledJobRegistry(queue=Queue("aggregates", connection=Redis.from_url(REDIS_URL)))
    assert len(scheduled.get_job_ids()) == 1 and _pending(world.commune.id) == 6
    deadline = time.monotonic() + 30
    while _pending(world.commune.id) and time.monotonic() < deadline:
        time.sleep(0.2)
        db.session.rollback()
    assert _pending(world.commune.id) == 0 and jobs_settled("aggregates")
    assert len(_drain_jobs() - before) == 1  # three pushes, one drain
    incremental, rebuilt = _rebuilt(world)
    assert incremental == rebuilt and incremental["coverage_subject_days"]


@redis_only
def test_drains_that_race_leave_the_rows_a_rebuild_gives(app, client, world, held_queue):
    from jobs.aggregates import drain_coverage

    headers = login(client, world.users["commune_officer"])
    _burst(client, headers, _homes(client, headers, world))
    assert jobs_settled("aggregates") and _pending(world.commune.id) == 12
    errors, start = [], threading.Barrier(3)

    def run():
        try:
            with app.app_context():  # its own session and connection
                start.wait()
                drain_coverage()
                db.session.remove()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and _pending(world.commune.id) == 0
    incremental, rebuilt = _rebuilt(world)
    assert incremental == rebuilt and incremental["coverage_subject_days"]


@redis_only
def test_the_drain_command_takes_what_a_lost_job_left(app, client, runner, world, held_queue):
    headers = login(client, world.users["commune_officer"])
    # held_queue: the job that would have drained these is lost
    _burst(client, headers, _homes(client, headers, world))
    assert jobs_settled("aggregates") and _pending(world.commune.id) == 12
    result = runner.invoke(args=["aggregates", "drain"])
    assert result.exit_code == 0 and "drained" in result.output, result.output
    assert _pending(world.commune.id) == 0
    incremental, rebuilt = _rebuilt(world)
    assert incremental == rebuilt and incremental["coverage_subject_days"]
