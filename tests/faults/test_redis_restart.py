"""Redis restarts without persistence while photo and coverage jobs wait in it: the jobs are gone,
and the worker takes the work back from the database (pending photos, pending coverage rows)."""
import io
import uuid

import pytest
from PIL import Image
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from tests.faults import checks
from tests.faults.stack import wait_until
from tests.photo_helpers import jpeg_bytes
from tests.sync_helpers import household, visit

pytestmark = pytest.mark.faults


def _queued(redis_url):
    """(function name, args) of every job waiting in the photo and coverage queues, queued or
    scheduled (a push's drain waits COVERAGE_DRAIN_DELAY_SECONDS in rq's scheduled registry)."""
    conn = Redis.from_url(redis_url)
    waiting = set()
    for name in ("photos", "aggregates"):
        queue = Queue(name, connection=conn)
        ids = queue.job_ids + ScheduledJobRegistry(queue=queue).get_job_ids()
        waiting |= {(job.func_name, tuple(job.args))
                    for job in Job.fetch_many(ids, connection=conn) if job is not None}
    return waiting


def test_work_queued_in_a_redis_that_restarts_empty_is_recovered(faults, app, world):
    api = faults.login(world.users["member"])
    h = household(world.hamlets[0].id)
    first = visit(h["id"])
    assert checks.push(api, [h, first])[0] == 200
    wait_until(lambda: checks.pending(world) == 0, 30, what="the first drain")

    faults.worker.stop()  # a backlog: the jobs wait in Redis
    later = checks.home_with_visit(world.hamlets[0].id)
    status, body = checks.push(api, later)
    assert status == 200 and [r["status"] for r in body["results"]] == ["created"] * 2, body
    photo_id = str(uuid.uuid4())
    path = f"/api/v1/visits/{first['id']}/photos/{photo_id}"
    status, body = api.call("PUT", path, data=jpeg_bytes((900, 1200)),
                            headers={"Content-Type": "image/jpeg", "X-Consent": "yes"})
    assert status == 201, body
    ours = {("jobs.photos.process_photo", (photo_id,)),
            ("jobs.aggregates.drain_coverage", ())}
    assert ours <= _queued(faults.redis.url)  # (retries of other tests' jobs may wait too)
    assert checks.pending(world) == 2

    faults.redis.stop()
    faults.redis.start()
    assert _queued(faults.redis.url) == set()  # the jobs are lost
    wait_until(faults.ready, 30, what="the web processes to reach the new Redis")

    faults.worker.start()
    assert checks.startup_drains(faults.worker) >= 1  # its start-up maintenance took them
    assert checks.pending(world) == 0
    wait_until(lambda: api.call("GET", path)[0] == 200, 30, what="the photo recovery")
    with Image.open(io.BytesIO(api.call("GET", path)[1])) as img:
        img.load()
        assert img.size == (900, 1200)
    assert checks.photo_row(photo_id).state == "ready"
    checks.coverage_matches_rebuild(world)
