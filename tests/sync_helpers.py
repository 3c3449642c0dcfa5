"""Builders of push items shaped like the PWA sends them."""
import uuid
from datetime import datetime, timedelta, timezone

VN = timezone(timedelta(hours=7))


def new_id():
    """A client-generated UUID string."""
    return str(uuid.uuid4())


def soon(days=7):
    """A follow-up day a week from now (follow-ups may be at most a year ahead)."""
    return (datetime.now(VN) + timedelta(days=days)).date().isoformat()


def household(hamlet_id, item_id=None, base_version=None, **data):
    """A household item."""
    body = {"hamlet_id": hamlet_id, "address": "Tổ 3, ấp Bảo Định", "head_name": "Nguyễn Văn A",
            "members_count": 4, "adults_count": 3, "phone": "0912345678",
            "location": {"lat": 10.93, "lon": 107.40, "accuracy_m": 8}}
    body.update(data)
    return {"type": "household", "id": item_id or new_id(), "base_version": base_version,
            "data": body}


def resident(household_id, item_id=None, base_version=None, given=True, **data):
    """A resident item with consent."""
    body = {"household_id": household_id, "full_name": "Nguyễn Thị B", "birth_year": 1968,
            "sex": "F", "phone": None,
            "consent": {"given": given, "purposes": ["support", "contact", "photo"],
                        "at": "2025-10-05T09:10:00+07:00"}}
    body.update(data)
    return {"type": "resident", "id": item_id or new_id(), "base_version": base_version,
            "data": body}


def visit(household_id, item_id=None, services=(), when=None, **data):
    """A visit item."""
    when = when or datetime.now(VN) - timedelta(hours=1)
    body = {"household_id": household_id, "visited_at": when.isoformat(),
            "location": {"lat": 10.931, "lon": 107.401, "accuracy_m": 12},
            "outcome": "completed", "notes": "Hướng dẫn cài VNeID", "services": list(services),
            "follow_up_on": None}
    body.update(data)
    return {"type": "visit", "id": item_id or new_id(), "data": body}


def push(client, headers, items, device_id="phone-1"):
    """POST a push and return (status code, body)."""
    resp = client.post("/api/v1/sync/push", json={"device_id": device_id, "items": items},
                       headers=headers)
    return resp.status_code, resp.get_json()


def statuses(body):
    """The per-item statuses of a push answer."""
    return [r["status"] for r in body["results"]]


def pull_all(client, headers, cursor=None, limit=500):
    """Every change from ``cursor`` to the end; returns (changes, last cursor, pages)."""
    changes, pages = [], 0
    while True:
        query = {"limit": limit}
        if cursor:
            query["cursor"] = cursor
        resp = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        changes += body["changes"]
        cursor = body["cursor"]
        pages += 1
        if not body["more"]:
            return changes, cursor, pages
