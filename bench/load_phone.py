"""One simulated phone of the campaign peak: it empties its offline outbox over a bad network.

The outbox (households, their residents, then visits, as ``ingest_data`` generates them) goes in
pushes of random size. The network misbehaves on purpose, from the phone's own seeded generator:

- *lost answer*: the whole request is sent, then the connection drops before the answer is read
  (the server may or may not have stored it; the phone cannot tell and sends it again later);
- *cut upload*: the connection drops halfway through the body (a 2G upload that dies);
- *duplicate send*: a push the phone saw acknowledged is sent again (a retry after a timeout the
  phone misjudged); every item must come back ``duplicate``;
- *retries*: any failure (the two above, a 5xx, a refused connection) is retried after a random
  back-off, at most ``max_attempts`` times per push.

A record counts as acknowledged when the phone read an answer saying ``created`` or
``duplicate`` for it. A few phones also upload one small JPEG for a visit once it is stored.
"""
import http.client
import io
import json
import random
import time
import uuid
from dataclasses import dataclass, field

PUSH = "/api/v1/sync/push"
ACKED = ("created", "duplicate")


@dataclass
class Chaos:
    """Probabilities of each network fault per request, and the retry budget."""

    lost_answer: float = 0.05
    cut_upload: float = 0.03
    duplicate: float = 0.08
    max_attempts: int = 8
    backoff: float = 0.2  # seconds; each retry waits up to backoff * 2**attempt (capped)


@dataclass
class Outcome:
    """What one phone saw."""

    acked: dict = field(default_factory=dict)  # item id -> status of the first answer read
    statuses: dict = field(default_factory=dict)  # status -> count, over every answer read
    latencies: list = field(default_factory=list)  # seconds of push requests answered 200
    photo_latencies: list = field(default_factory=list)
    faults: dict = field(default_factory=dict)  # kind -> count
    errors: list = field(default_factory=list)
    photos: list = field(default_factory=list)  # [(visit id, photo id)] acknowledged 200/201
    duplicate_checks: int = 0  # duplicate sends whose every item came back duplicate
    gave_up: bool = False
    finished_at: float = 0.0


def small_jpeg(seed):
    """A 480x360 JPEG (about 10 KB) that differs per phone."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (480, 360), (rng.randrange(256), rng.randrange(256), 90))
    img.paste((200, 30, 30), (0, 0, 240, 180))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


class Phone:
    """One device: its login, its outbox (an ``ingest_data.Client``), its unreliable network."""

    def __init__(self, base_url, client, token, device_id, seed, chaos, batch_range,
                 photo=False, deadline=None):
        host_port = base_url.split("//", 1)[1].rstrip("/")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.client = client
        self.token = token
        self.device_id = device_id
        self.rng = random.Random(seed)
        self.chaos = chaos
        self.batch_range = batch_range
        self.photo = photo
        self.deadline = deadline
        self.conn = None
        self.out = Outcome()

    # The network -------------------------------------------------------------------------------

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return self.conn

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _fault(self, kind):
        self.out.faults[kind] = self.out.faults.get(kind, 0) + 1

    def request(self, method, path, body=None, headers=None, faults=True):
        """One attempt. Returns (status, parsed body or bytes, seconds) or None when the answer
        never arrived (a fault was injected or the connection failed)."""
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        roll = self.rng.random() if faults else 1.0
        started = time.perf_counter()
        try:
            conn = self._connection()
            if body is not None and roll < self.chaos.cut_upload:
                conn.putrequest(method, path)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    conn.putheader(name, value)
                conn.endheaders()
                conn.send(body[:max(1, len(body) // 2)])
                self._drop()
                self._fault("cut_upload")
                return None
            conn.request(method, path, body=body, headers=headers)
            if roll < self.chaos.cut_upload + self.chaos.lost_answer:
                # The request is out; the answer is lost with the connection.
                self._drop()
                self._fault("lost_answer")
                return None
            resp = conn.getresponse()
            data = resp.read()
            seconds = time.perf_counter() - started
            if resp.will_close:
                self._drop()
        except (OSError, http.client.HTTPException) as err:
            self._drop()
            self._fault(f"network:{type(err).__name__}")
            return None
        kind = resp.getheader("Content-Type", "")
        parsed = json.loads(data) if kind.startswith("application/json") and data else data
        return resp.status, parsed, seconds

    def _expired(self):
        return self.deadline is not None and time.monotonic() > self.deadline

    def _wait(self, attempt):
        time.sleep(self.rng.uniform(0, min(2.0, self.chaos.backoff * 2 ** attempt)))

    # The phone's work --------------------------------------------------------------------------

    def check_token(self):
        """``GET /api/v1/me`` with the phone's token (no faults); True when it is accepted."""
        answer = self.request("GET", "/api/v1/me", faults=False)
        self._drop()  # the phone goes offline until the campaign evening
        if answer and answer[0] == 200 and answer[1]["username"] == self.client.username:
            return True
        self.out.errors.append(f"token refused: {answer and answer[:2]}")
        return False

    def outbox(self):
        """The phone's items in the order it made them, cut into pushes of random size."""
        items = []
        residents = {}
        for item in self.client.residents:
            residents.setdefault(item["data"]["household_id"], []).append(item)
        for household in self.client.households:
            items.append(household)
            items.extend(residents.get(household["id"], []))
        items.extend(self.client.visits)
        batches, i = [], 0
        while i < len(items):
            size = self.rng.randint(*self.batch_range)
            batches.append(items[i:i + size])
            i += size
        return batches

    def run(self):
        """Empty the outbox, upload the photo if any; returns the ``Outcome``."""
        sent = []
        for items in self.outbox():
            body = json.dumps({"device_id": self.device_id, "items": items},
                              ensure_ascii=False).encode()
            if not self._push(body, items):
                self.out.gave_up = True
                break
            sent.append((body, items))
            if self.rng.random() < self.chaos.duplicate:
                self._duplicate(*self.rng.choice(sent))
        if self.photo and not self.out.gave_up:
            self._upload_photo()
        self._drop()
        self.out.finished_at = time.monotonic()
        return self.out

    def _push(self, body, items):
        for attempt in range(self.chaos.max_attempts):
            if self._expired():
                self.out.errors.append("deadline reached with items unacknowledged")
                return False
            answer = self.request("POST", PUSH, body, {"Content-Type": "application/json"})
            if answer is None or answer[0] >= 500:
                if answer is not None:
                    self._fault(f"http:{answer[0]}")
                self._wait(attempt)
                continue
            code, parsed, seconds = answer
            if code != 200:
                self.out.errors.append(f"push answered {code}: {str(parsed)[:300]}")
                return False
            self.out.latencies.append(seconds)
            self._tally(items, parsed["results"])
            return True
        self.out.errors.append(f"push not answered after {self.chaos.max_attempts} attempts")
        return False

    def _tally(self, items, results):
        if len(results) != len(items):
            self.out.errors.append(f"{len(results)} results for {len(items)} items")
        for item, result in zip(items, results):
            status = result["status"]
            self.out.statuses[status] = self.out.statuses.get(status, 0) + 1
            if result["id"] != item["id"]:
                self.out.errors.append(f"result for {result['id']} in place of {item['id']}")
            elif status in ACKED:
                self.out.acked.setdefault(item["id"], status)
            elif len(self.out.errors) < 5:
                self.out.errors.append(json.dumps(result, ensure_ascii=False)[:300])

    def _duplicate(self, body, items):
        """Send an acknowledged push again: every item must come back ``duplicate``."""
        answer = self.request("POST", PUSH, body, {"Content-Type": "application/json"},
                              faults=False)
        self._fault("duplicate_send")
        if answer is None or answer[0] != 200:
            self.out.errors.append(f"duplicate send not answered 200: {answer and answer[:2]}")
            return
        statuses = {r["status"] for r in answer[1]["results"]}
        if statuses == {"duplicate"}:
            self.out.duplicate_checks += 1
        else:
            self.out.errors.append(f"duplicate send answered {sorted(statuses)}")

    def _photo_visit(self):
        """A visit every named resident of which consented to photos (or that names nobody)."""
        consenting = {r["id"] for r in self.client.residents
                      if "photo" in r["data"]["consent"]["purposes"]}
        for item in reversed(self.client.visits):
            named = {line["resident_id"] for line in item["data"]["services"]
                     if line["resident_id"]}
            if named <= consenting and item["id"] in self.out.acked:
                return item["id"]
        return None

    def _upload_photo(self):
        visit_id = self._photo_visit()
        if visit_id is None:
            return
        photo_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        body = small_jpeg(photo_id)
        path = f"/api/v1/visits/{visit_id}/photos/{photo_id}"
        headers = {"Content-Type": "image/jpeg", "X-Consent": "yes"}
        for attempt in range(self.chaos.max_attempts):
            if self._expired():
                break
            answer = self.request("PUT", path, body, headers)
            if answer is None or answer[0] >= 500:
                self._wait(attempt)
                continue
            code, parsed, seconds = answer
            if code in (200, 201):
                self.out.photo_latencies.append(seconds)
                self.out.photos.append((visit_id, photo_id))
            else:
                self.out.errors.append(f"photo answered {code}: {str(parsed)[:300]}")
            return
        self.out.errors.append("photo upload not answered")
