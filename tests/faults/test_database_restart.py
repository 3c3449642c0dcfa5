"""PostgreSQL crashes (``pg_ctl stop -m immediate``) and comes back while phones push: they get
503 in the contract's shape, never a 500; their retries of the same batch succeed; every record
that was acknowledged is stored exactly once, and the figures equal a rebuild."""
import http.client
import threading
import time

import pytest
from sqlalchemy import text

from server.extensions import db
from tests.faults import checks
from tests.faults.stack import wait_until

pytestmark = pytest.mark.faults

def _phone(api, hamlet_id, device_id, seen, acknowledged, done):
    """Push batch after batch until ``done``, retrying each until it is answered 200, as the PWA's
    outbox does (a batch that was sent is never dropped: it may have been stored)."""
    deadline = time.monotonic() + 120
    while not done.is_set():
        items = checks.home_with_visit(hamlet_id)
        while time.monotonic() < deadline:
            try:
                status, body = checks.push(api, items, device_id)
            except (OSError, http.client.HTTPException):
                seen.append("cut")
                time.sleep(0.1)
                continue
            seen.append(status)
            if status == 200:
                if [r["status"] for r in body["results"]] not in (
                        ["created", "created"], ["duplicate", "duplicate"]):
                    seen.append(f"unexpected results: {body}")
                    return
                acknowledged.extend([i["id"] for i in items])  # one call: the pair stays together
                break
            if status != 503 or body["error"]["code"] != "service_unavailable":
                return  # the test fails on ``seen``
            time.sleep(0.1)
        time.sleep(0.05)


def test_pushes_across_a_database_crash_are_stored_once(faults, app, world):
    # An acknowledged commit is on disk before the answer: what makes the crash survivable.
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
    phones = [(faults.login(world.users[role], device_id=role), hamlet.id, role)
              for role, hamlet in (("member", world.hamlets[0]), ("member2", world.hamlets[-1]),
                                   ("team_lead", world.hamlets[0]))]
    seen, acknowledged, done = [], [], threading.Event()
    threads = [threading.Thread(target=_phone, args=(api, hamlet_id, device, seen, acknowledged,
                                                      done))
               for api, hamlet_id, device in phones]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 6, 60, what="the first pushes")
        db.session.rollback()  # this process's own connection is not what the test is about
        faults.pg.crash()
        wait_until(lambda: seen.count(503) >= 3, 30, what="phones to be answered 503")
        status, body = faults.http().call("GET", "/readyz")
        assert status == 503 and body["error"]["fields"] == {"database": ["unreachable"]}, body
        after_crash = len(acknowledged)
        faults.pg.start()
        wait_until(lambda: len(acknowledged) >= after_crash + 12, 60,
                   what="pushes after the restart")
    finally:
        done.set()
        for thread in threads:
            thread.join(130)
    assert not any(thread.is_alive() for thread in threads)

    # Phones were answered 200 or 503 (in the error shape), or saw the connection fail.
    assert set(seen) == {200, 503} | ({"cut"} & set(seen)), seen
    assert len(acknowledged) == len(set(acknowledged))
    households = acknowledged[0::2]
    visits = acknowledged[1::2]
    assert checks.stored(checks.Household, households) == len(households)
    assert checks.stored(checks.Visit, visits) == len(visits)
    # Nothing but the acknowledged records: no half-stored batch survived the crash.
    assert checks.commune_counts(world) == (len(households), len(visits))

    wait_until(lambda: checks.pending(world) == 0, 60, what="the drains after the restart")
    checks.coverage_matches_rebuild(world)
