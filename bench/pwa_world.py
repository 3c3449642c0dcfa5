"""bench/pwa.py's server side: a throwaway SQLite server that counts the bytes it sends, two
hamlets filled through the public push API, and the searches a member types with the hits the
app must show (computed here the app's way)."""
import logging
import os
import threading
import time
import unicodedata
import uuid

PASSWORD = "demo-2025"
SMALL_USER = "bench.small"


# --- the server ------------------------------------------------------------------------------

class ByteCounter:
    """WSGI wrapper: adds up what the server sends (status line, headers, body)."""

    def __init__(self, app):
        self.app = app
        self.sent = 0
        self.heads = 0
        self.requests = 0
        self.by_path = {}
        self.statuses = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        def counting_start(status, headers, exc_info=None):
            head = len(f"HTTP/1.1 {status}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers) + 2
            self._add(head, environ)
            with self.lock:
                self.heads += head
                self.requests += 1
                key = f"{environ.get('PATH_INFO', '')} {status.split()[0]}"
                self.statuses[key] = self.statuses.get(key, 0) + 1
            return start_response(status, headers, exc_info)

        body = self.app(environ, counting_start)
        try:
            for chunk in body:
                self._add(len(chunk), environ)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()

    def _add(self, n, environ):
        with self.lock:
            self.sent += n
            path = environ.get("PATH_INFO", "")
            self.by_path[path] = self.by_path.get(path, 0) + n


def start_server(tmp):
    """Migrate and seed a new SQLite database in this process (as ``flask db upgrade``, ``flask
    seed-demo`` and ``flask users create`` do; three interpreters fewer), then serve it."""
    for name in ("REDIS_URL", "FLASK_DEBUG", "FLASK_APP"):
        os.environ.pop(name, None)
    os.environ.update(DATABASE_URL=f"sqlite:///{tmp / 'app.db'}", MEDIA_DIR=str(tmp / "media"))
    from flask_migrate import upgrade
    from werkzeug.serving import WSGIRequestHandler, make_server

    from wsgi import app  # first: it imports the services in their working order

    from server.services import accounts, demo  # noqa: I001

    t = time.perf_counter()
    with app.app_context():
        upgrade()
        demo.seed(app.config["DEMO_PASSWORD"])
        accounts.create_user(SMALL_USER, PASSWORD, "member", commune_code="26425", team_id=2,
                             display_name="Bench member")
    print(f"  database migrated and seeded in {time.perf_counter() - t:.1f} s", flush=True)

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # one line per request would drown the figures
            pass

    counter = ByteCounter(app.wsgi_app)
    app.wsgi_app = counter
    logging.getLogger().setLevel(logging.WARNING)
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return app, counter, f"http://localhost:{httpd.server_port}", httpd


# --- the data --------------------------------------------------------------------------------

def fold_words(text):
    """The app's search folding (static/app/fold.js searchKey) as a list of words."""
    text = unicodedata.normalize("NFD", str(text or ""))
    text = "".join(c for c in text if not ("\u0300" <= c <= "\u036f")).replace("đ", "d").replace("Đ", "d")
    return "".join(c if c.isascii() and c.isalnum() else " " for c in text.lower()).split()


def token(client, username):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD,
                                                   "device_id": f"bench-{uuid.uuid4()}"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["token"], resp.get_json()["user"]["hamlet_ids"][0]


def pull_hamlet(client, tok, hamlet_id):
    """The hamlet (with its boundary) and its households and residents, as the phone gets them."""
    auth = {"Authorization": f"Bearer {tok}"}
    cursor, hamlet, households, residents = None, None, {}, {}
    while True:
        resp = client.get("/api/v1/sync/pull?limit=1000" + (f"&cursor={cursor}" if cursor else ""), headers=auth)
        body = resp.get_json()
        for c in body["changes"]:
            if c["type"] == "hamlet" and int(c["id"]) == hamlet_id:
                hamlet = c["data"]
            elif c["type"] == "household" and not c["deleted"]:
                households[c["id"]] = c["data"]
            elif c["type"] == "resident" and not c["deleted"]:
                residents[c["id"]] = c["data"]
        cursor = body["cursor"]
        if not body["more"]:
            return hamlet, households, residents


def fill_hamlet(client, username, target, per_household, rng):
    """Push households (with residents and GPS) until the member's hamlet holds ``target``."""
    from shapely.geometry import Point, shape

    from server.services.demo import GIVEN_F, GIVEN_M, MIDDLE_F, MIDDLE_M, SURNAMES

    tok, hamlet_id = token(client, username)
    hamlet, households, residents = pull_hamlet(client, tok, hamlet_id)
    area = shape(hamlet["boundary"])
    minx, miny, maxx, maxy = area.bounds
    items = []
    at = "2025-10-01T08:00:00+07:00"
    for n in range(len(households), target):
        while True:
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if area.contains(p):
                break
        hid = str(uuid.uuid4())
        sex = rng.choice("MF")
        head = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_M if sex == 'M' else MIDDLE_F)} {rng.choice(GIVEN_M if sex == 'M' else GIVEN_F)}"
        items.append({"type": "household", "id": hid, "base_version": None, "data": {
            "hamlet_id": hamlet_id, "address": f"Tổ {1 + n % 12}, số {n + 1}", "head_name": head,
            "members_count": per_household, "adults_count": min(2, per_household),
            "phone": f"091{rng.randint(1000000, 9999999)}",
            "location": {"lat": round(p.y, 6), "lon": round(p.x, 6), "accuracy_m": 10}}})
        for k in range(per_household):
            rsex = sex if k == 0 else rng.choice("MF")
            name = head if k == 0 else f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_M if rsex == 'M' else MIDDLE_F)} {rng.choice(GIVEN_M if rsex == 'M' else GIVEN_F)}"
            items.append({"type": "resident", "id": str(uuid.uuid4()), "base_version": None, "data": {
                "household_id": hid, "full_name": name, "birth_year": rng.randint(1945, 2015),
                "sex": rsex, "phone": None,
                "consent": {"given": True, "purposes": ["support", "contact"], "at": at}}})
    auth = {"Authorization": f"Bearer {tok}"}
    for i in range(0, len(items), 500):
        resp = client.post("/api/v1/sync/push", headers=auth,
                           json={"device_id": "bench-filler", "items": items[i:i + 500]})
        bad = [r for r in resp.get_json()["results"] if r["status"] != "created"]
        assert resp.status_code == 200 and not bad, bad[:3]
    return hamlet_id, *pull_hamlet(client, tok, hamlet_id)[1:]


def search_cases(households, residents, count, rng):
    """Queries as members type them (no tones, the given name cut short; every other one with
    the house number too) with the expected hit count, computed here the app's way: every query
    word starts a word of the household's head, address or residents' names (phone digits are
    left out: no query word could start them and be absent from the address). Name-only queries
    may find dozens of households; the target's row is checked when at most 10 are found."""
    words = {hid: set(fold_words(f"{h['head_name']} {h['address']}")) for hid, h in households.items()}
    for r in residents.values():
        if r["household_id"] in words:
            words[r["household_id"]].update(fold_words(r.get("full_name")))
    cases = []
    ids = sorted(hid for hid, h in households.items() if "số" in h["address"])
    rng.shuffle(ids)
    for n, hid in enumerate(ids[:count]):
        parts = fold_words(households[hid]["head_name"])
        query = " ".join(parts[:-1] + [parts[-1][:max(2, len(parts[-1]) - 1)]])
        if n % 2 == 0:
            query += " " + fold_words(households[hid]["address"])[-1]  # "Tổ 3, số 123" → 123
        qwords = query.split()
        expected = sum(1 for ws in words.values() if all(any(w.startswith(q) for w in ws) for q in qwords))
        cases.append((query, hid, expected))
    return cases
