"""The field app's files as served: minified, compressed once, kept in memory, lean headers.

A phone's first start downloads the whole shell (about 50 files) over prepaid 3G, so each file is
sent as small as it can be without a build step:

- JavaScript and CSS are minified at serve time (``rjsmin``/``rcssmin``: comments and
  whitespace only, no renaming; template literals are kept byte for byte: server/web/jsmin.py),
  the manifest's JSON is compacted; then gzip (level 9) and brotli (quality 11) are made once
  per file and encoding, not per request;
- the headers are only those a cached, revalidated file needs: no ``Content-Disposition``,
  ``Last-Modified``, ``Expires`` or ``Accept-Ranges`` (``send_file``'s), and a short ETag (the
  served bytes' hash, with ``:gzip``/``:br`` per encoding);
- the service worker's per-file hashes and its cache version are computed from these same
  bytes (``served_bytes``; server/web/shell.py), so what it checks is what the server sends.

A file is read, minified and compressed again when its size or modification time changes.
"""
import gzip
import hashlib
import json
import mimetypes
import threading
from dataclasses import dataclass, field
from pathlib import Path

import brotli
import rcssmin
from flask import current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date
from werkzeug.security import safe_join

from server.web import jsmin

HASH_CHARS = 16  # 64 bits: enough to tell two versions of a file apart
MIN_COMPRESS = 500  # smaller answers gain nothing a header does not cost back
COMPRESSIBLE = frozenset({"text/javascript", "text/css", "text/html", "application/manifest+json",
                          "application/json", "image/svg+xml"})
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")


def _minify_js(data):
    return jsmin.minify(data.decode("utf-8")).encode("utf-8")


def _minify_css(data):
    return rcssmin.cssmin(data.decode("utf-8")).encode("utf-8")


def _compact_json(data):
    value = json.loads(data.decode("utf-8"))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


MINIFIERS = {".js": _minify_js, ".mjs": _minify_js, ".css": _minify_css,
             ".webmanifest": _compact_json}


@dataclass
class Asset:
    """One file as served: its bytes, their hash and their compressed forms (made on demand)."""

    body: bytes
    digest: str
    mimetype: str
    encoded: dict = field(default_factory=dict)  # "gzip"/"br" -> bytes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def encoding_for(self, accepted):
        """The encoding to send to a client that accepts ``accepted`` (None: as it is)."""
        if self.mimetype not in COMPRESSIBLE or len(self.body) < MIN_COMPRESS:
            return None
        for name in ("br", "gzip"):
            if accepted[name]:
                return name
        return None

    def encoded_body(self, name):
        with self.lock:
            if name not in self.encoded:
                self.encoded[name] = (brotli.compress(self.body, quality=11) if name == "br"
                                      else gzip.compress(self.body, compresslevel=9, mtime=0))
            return self.encoded[name]


_lock = threading.Lock()
_cache = {}  # path -> ((size, mtime_ns), Asset)


def load(path):
    """The ``Asset`` of ``path`` (None if there is no such file)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    stamp = (st.st_size, st.st_mtime_ns)
    with _lock:
        cached = _cache.get(str(path))
    if cached and cached[0] == stamp:
        return cached[1]
    data = path.read_bytes()
    minify = MINIFIERS.get(path.suffix)
    if minify:
        try:
            data = minify(data)
        except ValueError:  # not UTF-8 or not JSON: send it as it is
            data = path.read_bytes()
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    item = Asset(data, hashlib.sha256(data).hexdigest()[:HASH_CHARS], mimetype)
    with _lock:
        _cache[str(path)] = (stamp, item)
    return item


def served_bytes(path):
    """The bytes a client gets for ``path`` once decoded (None if there is no such file)."""
    item = load(path)
    return item.body if item else None


def respond(folder, name, cache_control="no-cache"):
    """The response for the file ``name`` under ``folder``: 200 with the best encoding the client
    takes, or 304 when it holds this version; 404 when there is no such file (nor any path that
    would leave ``folder``)."""
    path = safe_join(str(folder), name)
    item = load(path) if path else None
    if item is None:
        raise NotFound()
    ranged = request.range is not None  # a byte range is of the bytes as they are
    encoding = None if ranged else item.encoding_for(request.accept_encodings)
    etag = item.digest + (f":{encoding}" if encoding else "")
    response = current_app.response_class()
    response.headers["Cache-Control"] = cache_control
    response.set_etag(etag)
    if item.mimetype in COMPRESSIBLE:
        response.headers["Vary"] = "Accept-Encoding"
    response.headers["Date"] = http_date()
    if request.if_none_match.contains(etag):
        response.status_code = 304
        del response.headers["Content-Type"]  # a 304 has no body to type
        return response
    response.set_data(item.encoded_body(encoding) if encoding else item.body)
    response.mimetype = item.mimetype
    if item.mimetype.startswith("text/") or item.mimetype.endswith("json"):
        response.headers["Content-Type"] = f"{item.mimetype}; charset=utf-8"
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if ranged:
        return response.make_conditional(request, accept_ranges=True,
                                         complete_length=len(item.body))
    return response
