"""Connections cut at the worst moments: an upload cut halfway is never stored nor served, and a
push whose answer a proxy drops after the server committed is answered ``duplicate`` on replay."""
import http.client
import io
import socket
import struct
import threading
import uuid

import pytest
from PIL import Image

from tests.faults import checks
from tests.faults.stack import wait_until
from tests.photo_helpers import jpeg_bytes
from tests.sync_helpers import household, visit

pytestmark = pytest.mark.faults


def _visit(faults, world):
    api = faults.login(world.users["member"])
    h = household(world.hamlets[0].id)
    v = visit(h["id"])
    assert checks.push(api, [h, v])[0] == 200
    return api, v["id"]


def _send_half(faults, api, path, data, chunked=False):
    """Send the headers and half the body on a raw socket, then hang up."""
    head = [f"PUT {path} HTTP/1.1", f"Host: 127.0.0.1:{faults.port}",
            f"Authorization: Bearer {api.token}", "Content-Type: image/jpeg", "X-Consent: yes"]
    half = data[:len(data) // 2]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        body = f"{len(half):x}\r\n".encode() + half + b"\r\n"  # and never the last chunk
    else:
        head.append(f"Content-Length: {len(data)}")
        body = half
    with socket.create_connection(("127.0.0.1", faults.port)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_cut_halfway_is_never_served(faults, app, world, chunked):
    api, visit_id = _visit(faults, world)
    photo_id = str(uuid.uuid4())
    path = f"/api/v1/visits/{visit_id}/photos/{photo_id}"
    data = jpeg_bytes((1200, 900))
    _send_half(faults, api, path, data, chunked)
    # gunicorn has finished with the cut request: refused as cut (400), not as a bad image.
    assert '" 400 ' in faults.web.wait_log(f"PUT {path} ", 30)

    assert checks.photo_row(photo_id) is None
    status, body = api.call("GET", path)
    assert status == 404 and body["error"]["code"] == "not_found", body
    assert not [p for p in faults.media.rglob(f"*{photo_id}*") if p.is_file()]

    # The phone's retry sends the whole photo: stored, processed, served whole.
    status, body = api.call("PUT", path, data=data,
                            headers={"Content-Type": "image/jpeg", "X-Consent": "yes"})
    assert status == 201, body
    wait_until(lambda: api.call("GET", path)[0] == 200, 30, what="the retried photo")
    with Image.open(io.BytesIO(api.call("GET", path)[1])) as img:
        img.load()
        assert img.size == (1200, 900)


class DroppingProxy:
    """Forwards one request whole to the server, reads the server's whole answer, and closes the
    client's connection without passing it on: the phone never learns its push was stored."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answer = None
        self.thread = threading.Thread(target=self._serve_one, daemon=True)
        self.thread.start()

    def _serve_one(self):
        client, _ = self.listener.accept()
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            request = _read_request(client)
            upstream.sendall(request)
            chunks = []
            while chunk := upstream.recv(65536):  # gunicorn closes after its answer
                chunks.append(chunk)
            self.answer = b"".join(chunks)
            # Reset rather than close: the phone sees the connection fail, not an empty answer.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.listener.close()


def _read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_push_whose_answer_was_lost_is_a_duplicate_on_replay(faults, app, world):
    api = faults.login(world.users["member"])
    items = checks.home_with_visit(world.hamlets[0].id)
    proxy = DroppingProxy(faults.port)
    through_proxy = type(api)(proxy.port, api.token)
    with pytest.raises((OSError, http.client.HTTPException)):
        checks.push(through_proxy, items)
    proxy.thread.join(30)
    assert proxy.answer.startswith(b"HTTP/1.1 200"), proxy.answer[:200]  # the server committed

    status, body = checks.push(api, items)  # the outbox replays the batch
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate"], body
    assert checks.stored(checks.Household, [items[0]["id"]]) == 1
    assert checks.stored(checks.Visit, [items[1]["id"]]) == 1
    assert checks.commune_counts(world) == (1, 1)
