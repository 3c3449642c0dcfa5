"""Coverage refresh: one drain job per push of a commune; incremental rows equal a rebuild."""
from datetime import date

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import HamletMonth, HamletServiceDay, HamletServiceMonth
from tests.conftest import ENGINE, REDIS_URL, wait_for
from tests.factories import login
from tests.sync_helpers import household, push, resident, visit


def _rows(hamlet_ids):
    db.session.rollback()
    months = db.session.execute(
        select(HamletMonth.hamlet_id, HamletMonth.month, HamletMonth.visits,
               HamletMonth.households_visited, HamletMonth.households_reached)
        .where(HamletMonth.hamlet_id.in_(hamlet_ids)).order_by(HamletMonth.hamlet_id)).all()
    services = db.session.execute(
        select(HamletServiceMonth.hamlet_id, HamletServiceMonth.month,
               HamletServiceMonth.service_code, HamletServiceMonth.supported,
               HamletServiceMonth.already_had, HamletServiceMonth.in_progress)
        .where(HamletServiceMonth.hamlet_id.in_(hamlet_ids))
        .order_by(HamletServiceMonth.hamlet_id, HamletServiceMonth.service_code)).all()
    return [tuple(r) for r in months], [tuple(r) for r in services]


def _field_day(client, world):
    headers = login(client, world.users["commune_officer"])
    items = []
    for hamlet in world.hamlets:
        h = household(hamlet.id)
        a, b = resident(h["id"]), resident(h["id"], full_name="Trần Văn C", sex="M")
        items += [h, a, b,
                  visit(h["id"], services=[
                      {"code": "CKS", "resident_id": a["id"], "result": "done", "provider": "VNPT"},
                      {"code": "CKS", "resident_id": b["id"], "result": "already_had"},
                      {"code": "TMDT", "resident_id": None, "result": "done"}]),
                  visit(h["id"], outcome="not_home"),
                  visit(h["id"], services=[
                      {"code": "CKS", "resident_id": a["id"], "result": "done", "provider": "VNPT"}])]
    code, body = push(client, headers, items)
    assert code == 200 and set(r["status"] for r in body["results"]) == {"created"}
    return items


def test_incremental_rows_equal_a_full_rebuild(client, runner, world):
    _field_day(client, world)
    first = wait_for(lambda: (lambda rows: rows if len(rows[0]) == 2 else None)(
        _rows(world.hamlet_ids)))
    months, services = first
    this_month = date.today().replace(day=1)
    assert months[0][1:] == (this_month, 3, 1, 1)
    cks = [s for s in services if s[0] == world.hamlets[0].id and s[2] == "CKS"]
    assert cks == [(world.hamlets[0].id, this_month, "CKS", 1, 1, 0)]
    result = runner.invoke(args=["aggregates", "rebuild", "--commune", world.commune.code])
    assert result.exit_code == 0, result.output
    assert "2 hamlets" in result.output
    assert _rows(world.hamlet_ids) == first
    days = db.session.execute(select(HamletServiceDay.service_code, HamletServiceDay.supported,
                                     HamletServiceDay.already_had, HamletServiceDay.has_delta)
                              .where(HamletServiceDay.hamlet_id == world.hamlets[0].id)
                              .order_by(HamletServiceDay.service_code)).all()
    assert [tuple(d) for d in days] == [("CKS", 1, 1, 2), ("TMDT", 1, 0, 1)]


@pytest.mark.skipif(ENGINE != "postgresql" or not REDIS_URL, reason="needs Redis and rq")
def test_a_push_queues_one_drain(client, world, rq_worker):
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    redis = Redis.from_url(REDIS_URL)
    queue = Queue("aggregates", connection=redis)

    def drains():
        ids = set(queue.get_job_ids()) | set(FinishedJobRegistry(queue=queue).get_job_ids())
        jobs = [j for j in Job.fetch_many(list(ids), connection=redis) if j is not None]
        return {j.id: j for j in jobs if j.func_name == "jobs.aggregates.drain_coverage"}

    earlier = set(drains())  # other tests' drains (the queue is the province's, not per test)
    _field_day(client, world)  # 6 visits in 2 hamlets: one drain takes them all

    def ours():
        return [j for i, j in drains().items() if i not in earlier]

    finished = wait_for(lambda: [j for j in ours() if j.is_finished] or None)
    assert len(finished) == 1 and len(ours()) == 1
    assert wait_for(lambda: len(_rows(world.hamlet_ids)[0]) == 2)
