"""A visit may leave follow-ups open (`keep_open`: it was about something else), and pull says
which visit settled a done follow-up (`closed_by`)."""
from datetime import datetime, timedelta

from tests.factories import login
from tests.sync_helpers import VN, household, pull_all, push, soon, statuses, visit


def _followups(client, headers, cursor=None):
    changes, cursor, _ = pull_all(client, headers, cursor=cursor)
    return {c["data"]["visit_id"]: c["data"] for c in changes if c["type"] == "followup"}, cursor


def test_keep_open_and_closed_by(client, world):
    headers = login(client, world.users["member"])
    now = datetime.now(VN)
    h = household(world.hamlets[0].id)
    promise = visit(h["id"], outcome="partial", follow_up_on=soon(), when=now - timedelta(hours=5))
    push(client, headers, [h, promise])
    found, cursor = _followups(client, headers)
    assert found[promise["id"]]["status"] == "open" and found[promise["id"]]["closed_by"] is None
    promised_at = datetime.fromisoformat(found[promise["id"]]["promised_at"])
    assert abs(promised_at - (now - timedelta(hours=5))) < timedelta(seconds=1)

    # A later visit about something else leaves it open; unknown ids in keep_open are ignored.
    other = visit(h["id"], outcome="completed", when=now - timedelta(hours=4),
                  keep_open=[promise["id"], "6d3c5a8e-0000-4000-8000-000000000000"])
    assert statuses(push(client, headers, [other])[1]) == ["created"]
    assert statuses(push(client, headers, [other])[1]) == ["duplicate"]  # the retry hashes the same
    found, _ = _followups(client, headers)
    assert found[promise["id"]]["status"] == "open"

    # The next reaching visit settles it, and pull names that visit.
    closing = visit(h["id"], outcome="completed", when=now - timedelta(hours=3))
    push(client, headers, [closing])
    found, _ = _followups(client, headers, cursor)
    done = found[promise["id"]]
    assert done["status"] == "done" and done["closed_at"]
    assert done["closed_by"]["visit_id"] == closing["id"]
    assert done["closed_by"]["outcome"] == "completed"
    closed_when = datetime.fromisoformat(done["closed_by"]["visited_at"])
    assert abs(closed_when - (now - timedelta(hours=3))) < timedelta(seconds=1)

    # A promise arriving after later reaching visits is stored settled: by the first of them.
    late = visit(h["id"], outcome="not_home", follow_up_on=soon(), when=now - timedelta(hours=6))
    push(client, headers, [late])
    found, _ = _followups(client, headers)
    assert found[late["id"]]["status"] == "done"
    assert found[late["id"]]["closed_by"]["visit_id"] == promise["id"]


def test_keep_open_is_checked(client, world):
    headers = login(client, world.users["member"])
    h = household(world.hamlets[0].id)
    bad = visit(h["id"], keep_open=["not-a-uuid"])
    too_many = visit(h["id"], keep_open=[f"6d3c5a8e-0000-4000-8000-{i:012d}" for i in range(51)])
    _, body = push(client, headers, [h, bad, too_many])
    assert statuses(body) == ["created", "rejected", "rejected"]
    assert body["results"][1]["codes"] == {"keep_open.0": ["not_uuid"]}
    assert body["results"][2]["codes"] == {"keep_open": ["too_long"]}
