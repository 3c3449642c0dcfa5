"""kill -9 of the rq worker (with its work horse) in the middle of a coverage drain and of a photo:
the restarted worker takes the work back from the database and the figures come out right."""
import io
import uuid

import psycopg
import pytest
from PIL import Image

from server.services.aggregates import LOCK_KEY
from tests.faults import checks
from tests.faults.stack import rq_worker, wait_until
from tests.photo_helpers import jpeg_bytes
from tests.sync_helpers import household, visit

pytestmark = pytest.mark.faults


def test_a_worker_killed_mid_drain_loses_no_figure(faults, app, world):
    api = faults.login(world.users["commune_officer"])
    code, body = checks.push(api, [item for hamlet_id in world.hamlet_ids
                                   for item in checks.home_with_visit(hamlet_id)])
    assert code == 200, body
    wait_until(lambda: checks.pending(world) == 0, 30, what="the first drain")

    faults.worker.stop()
    doomed = rq_worker(faults.env, faults.logs, production=True).start()
    doomed.wait_log("maintenance:")  # its start-up recovery ran: what it runs next is a job
    # Holding the maintenance lock stops the next drain at its first statement, inside the job.
    with psycopg.connect(faults.database_url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        items = [item for hamlet_id in world.hamlet_ids
                 for item in checks.home_with_visit(hamlet_id)]
        code, body = checks.push(api, items)
        assert code == 200 and {r["status"] for r in body["results"]} == {"created"}, body
        wait_until(lambda: checks.blocked(faults.database_url, "advisory")
                   and checks.started_jobs(faults.redis.url, "aggregates"),
                   30, what="the drain job to be running")
        doomed.kill9()
    # Its backend gets the lock, finds its client gone and ends: the drain committed nothing.
    wait_until(lambda: not checks.blocked(faults.database_url, "advisory"), 30,
               what="the killed job's backend to end")
    assert checks.pending(world) == 4  # 2 households, 2 visits

    faults.worker.start()  # as systemd restarts it
    assert checks.startup_drains(faults.worker) >= 1  # its start-up maintenance took them
    assert checks.pending(world) == 0
    assert checks.stored(checks.Visit, [i["id"] for i in items if i["type"] == "visit"]) == 2
    checks.coverage_matches_rebuild(world)


def test_a_worker_killed_mid_photo_leaves_it_to_the_next(faults, app, world):
    api = faults.login(world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"])
    assert checks.push(api, [h, v])[0] == 200
    faults.worker.stop()  # the photo's job waits in Redis
    photo_id = str(uuid.uuid4())
    path = f"/api/v1/visits/{v['id']}/photos/{photo_id}"
    data = jpeg_bytes((2400, 1600))
    status, body = api.call("PUT", path, data=data,
                            headers={"Content-Type": "image/jpeg", "X-Consent": "yes"})
    assert status == 201 and body["state"] == "pending", body

    doomed = rq_worker(faults.env, faults.logs, production=True)
    # A row lock stops the job at its first write (counting the attempt).
    with psycopg.connect(faults.database_url) as lock:
        lock.execute("SELECT 1 FROM photos WHERE id = %s FOR UPDATE", [photo_id])
        doomed.start()
        doomed.wait_log("maintenance:")
        wait_until(lambda: checks.blocked(faults.database_url, query_start="UPDATE photos")
                   and checks.started_jobs(faults.redis.url, "photos"),
                   30, what="the photo job to be running")
        doomed.kill9()
        lock.rollback()
    wait_until(lambda: not checks.blocked(faults.database_url, query_start="UPDATE photos"), 30,
               what="the killed job's backend to end")
    row = checks.photo_row(photo_id)
    assert (row.state, row.attempts) == ("pending", 0)  # the killed attempt committed nothing
    assert api.call("GET", path)[1]["error"]["code"] == "photo_pending"

    faults.worker.start()
    faults.worker.wait_log("photo sweep {'requeued': 1")  # its maintenance wakes the photo
    wait_until(lambda: api.call("GET", path)[0] == 200, 30, what="the photo to be processed")
    status, jpeg = api.call("GET", path)
    with Image.open(io.BytesIO(jpeg)) as img:
        img.load()  # a whole image: a truncated file raises here
        assert img.format == "JPEG" and img.size == (1600, 1067)
    row = checks.photo_row(photo_id)
    # The killed attempt's transaction died with it; the one that counted is the one that ran.
    assert row.state == "ready" and row.attempts == 1
