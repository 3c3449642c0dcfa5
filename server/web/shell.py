"""The field app's service worker, served with its shell's content hashes filled in.

``static/sw.js`` lists the shell (``const SHELL = [...]``) and carries two placeholders:
``const VERSION = 'dev';`` and ``const HASHES = {};``. Serving it, the server replaces them with a
hash of every shell file's bytes (the cache version) and each file's own hash, so

- any change to a shell file is a new worker, a new cache and the "new version" banner: nobody
  has to remember to bump a version, and a phone can never be stranded on old code;
- the worker can take a file the page has already downloaded from the browser's HTTP cache and
  check it is this version's byte for byte (SHA-256), instead of downloading the shell twice.

The hashes are of the bytes as served (minified: server/web/assets.py), which are what the
worker receives and checks; the worker's own code is minified too, past its ``SHELL`` list
(the lines above it stay as written: tests and tools read ``VERSION``, ``HASHES`` and ``SHELL``).

Hashes are recomputed when a file's size or modification time changes, so an edit during
development shows up at the next update check; otherwise a request costs one ``stat`` per file.
"""
import hashlib
import json
import re
import threading
from pathlib import Path

from server.web import jsmin
from server.web.assets import served_bytes

SW_FILE = "sw.js"
HASH_CHARS = 16  # 64 bits per file: enough to tell versions apart, small in the worker script
_SHELL_RE = re.compile(r"^const SHELL = \[(.*?)\];", re.S | re.M)
_VERSION_RE = re.compile(r"^const VERSION = '[^']*';$", re.M)
_HASHES_RE = re.compile(r"^const HASHES = \{\};$", re.M)

_lock = threading.Lock()
_cache = {}  # static folder -> (fingerprint, rendered script, version)


def shell_urls(source):
    """The URLs of ``const SHELL = [...]`` in the worker's source."""
    match = _SHELL_RE.search(source)
    return re.findall(r"'([^']+)'", match.group(1)) if match else []


def shell_file(static, url):
    """The file behind a shell URL (``/`` is ``index.html``)."""
    return Path(static) / ("index.html" if url == "/" else url.lstrip("/"))


def _fingerprint(paths):
    stats = []
    for path in paths:
        try:
            st = path.stat()
            stats.append((str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            stats.append((str(path), None, None))
    return tuple(stats)


def _render(static):
    template = (Path(static) / SW_FILE).read_text(encoding="utf-8")
    hashes = {}
    for url in shell_urls(template):
        data = served_bytes(shell_file(static, url))
        if data is None:
            continue  # the worker's install fails on this file's 404, as it should
        hashes[url] = hashlib.sha256(data).hexdigest()[:HASH_CHARS]
    whole = hashlib.sha256(template.encode())
    for url in sorted(hashes):
        whole.update(f"\n{url} {hashes[url]}".encode())
    version = whole.hexdigest()[:12]
    script = _VERSION_RE.sub(f"const VERSION = '{version}';", template, count=1)
    script = _HASHES_RE.sub(
        lambda _: f"const HASHES = {json.dumps(hashes, separators=(',', ':'))};", script, count=1)
    return _minified(script), version


def _minified(script):
    """The worker's comments dropped and its code past ``SHELL`` minified (see above)."""
    match = _SHELL_RE.search(script)
    if not match:
        return script
    head = "\n".join(line for line in script[:match.end()].splitlines()
                     if not line.lstrip().startswith("//"))
    return f"{head}\n{jsmin.minify(script[match.end():])}\n"


def service_worker_script(static):
    """``(script, version)``: ``static/sw.js`` with its version and per-file hashes filled in."""
    static = str(static)
    sw_path = Path(static) / SW_FILE
    template = sw_path.read_text(encoding="utf-8")
    paths = [sw_path] + [shell_file(static, url) for url in shell_urls(template)]
    fingerprint = _fingerprint(paths)
    with _lock:
        cached = _cache.get(static)
        if cached and cached[0] == fingerprint:
            return cached[1], cached[2]
    script, version = _render(static)
    with _lock:
        _cache[static] = (fingerprint, script, version)
    return script, version
