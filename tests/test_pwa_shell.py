"""The served service worker carries its shell's hashes (server/web/shell.py): a change to any
shell file changes the cache version, so no manual bump can be forgotten. The hashes are of the
bytes as served (minified: server/web/assets.py), which is what the worker checks."""
import gzip
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
    # Every shell file with the first 16 hex digits of the SHA-256 of what a client receives.
    assert set(hashes) >= {"/", "/app/main.js", "/app.css", "/icons/icon-192.png"}
    for url, digest in hashes.items():
        served = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200, url
        body = gzip.decompress(served.data) if served.headers.get("Content-Encoding") else served.data
        assert hashlib.sha256(body).hexdigest()[:16] == digest, url
    assert _served(client)[1] == version  # stable while nothing changes

    module = static / "app" / "labels.js"
    module.write_text(module.read_text(encoding="utf-8") + "\nexport const CHANGED = 1;\n",
                      encoding="utf-8")
    _, changed, new_hashes = _served(client)
    assert changed != version
    assert new_hashes["/app/labels.js"] != hashes["/app/labels.js"]
    assert {k: v for k, v in new_hashes.items() if k != "/app/labels.js"} == {
        k: v for k, v in hashes.items() if k != "/app/labels.js"}


def test_app_files_are_served_minified_with_lean_headers(app, client, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static, ignore=shutil.ignore_patterns("office"))
    app.static_folder = str(static)
    source = (static / "app" / "db.js").read_text(encoding="utf-8")
    resp = client.get("/app/db.js")
    served = resp.get_data(as_text=True)
    assert len(served) < len(source) * 0.8 and "// " not in served  # comments gone
    assert "'readwrite'" in served and "export async function write(" in served  # code kept
    for name in ("Content-Disposition", "Last-Modified", "Expires", "Accept-Ranges"):
        assert name not in resp.headers, name
    assert resp.headers["Cache-Control"] == "no-cache"
    # The unminified file on disk is not what the worker checks: an edit to a comment alone
    # serves the same bytes; an edit to code is a new hash, a new version.
    _, version, hashes = _served(client)
    (static / "app" / "db.js").write_text(source + "\n// a comment\n", encoding="utf-8")
    assert _served(client)[2]["/app/db.js"] == hashes["/app/db.js"]
    (static / "app" / "db.js").write_text(source + "\nexport const X = 1;\n", encoding="utf-8")
    assert _served(client)[1] != version
    assert "export const X=1" in client.get("/app/db.js").get_data(as_text=True)


def test_minifier_keeps_template_literals_byte_for_byte():
    from server.web.jsmin import minify

    source = ("// a comment\nexport const f = (r) => `Người${r.y ? ` (${r.y})` : ''}`;\n"
              "const re = /`[ ]+`/g;  const half = 1 / 2;\nconst s = '`  `';\n"
              "const t = `a\n   b ${ {k: `  ${1}  `}.k }`;\n")
    out = minify(source)
    assert "// a comment" not in out and "const f=" in out
    for kept in ("`Người${r.y ? ` (${r.y})` : ''}`", "/`[ ]+`/g", "1/2", "'`  `'",
                 "`a\n   b ${ {k: `  ${1}  `}.k }`"):
        assert kept in out, kept
    assert minify("const broken = `never closed;") == "const broken = `never closed;"
