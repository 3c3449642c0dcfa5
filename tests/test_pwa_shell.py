"""The served service worker carries its shell's hashes (server/web/shell.py): a change to any
shell file changes the cache version, so no manual bump can be forgotten."""
import hashlib
import json
import re
import shutil

from server import STATIC_DIR


def _served(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    body = resp.get_data(as_text=True)
    version = re.search(r"^const VERSION = '([0-9a-f]{12})';$", body, re.M).group(1)
    hashes = json.loads(re.search(r"^const HASHES = (\{.*\});$", body, re.M).group(1))
    return resp, version, hashes


def test_version_follows_the_shell_files(app, client, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static, ignore=shutil.ignore_patterns("office"))
    app.static_folder = str(static)
    resp, version, hashes = _served(client)
    assert resp.headers["Service-Worker-Allowed"] == "/" and "no-cache" in resp.headers["Cache-Control"]
    assert client.get("/sw.js", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    # Every shell file with the first 16 hex digits of its SHA-256; "/" is index.html.
    assert set(hashes) >= {"/", "/app/main.js", "/app.css", "/icons/icon-192.png"}
    for url, digest in hashes.items():
        path = static / ("index.html" if url == "/" else url.lstrip("/"))
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:16] == digest, url
    assert _served(client)[1] == version  # stable while nothing changes

    module = static / "app" / "labels.js"
    module.write_text(module.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    _, changed, new_hashes = _served(client)
    assert changed != version
    assert new_hashes["/app/labels.js"] != hashes["/app/labels.js"]
    assert {k: v for k, v in new_hashes.items() if k != "/app/labels.js"} == {
        k: v for k, v in hashes.items() if k != "/app/labels.js"}
