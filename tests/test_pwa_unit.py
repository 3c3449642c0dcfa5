"""The PWA's pure modules, tested without a browser.

- ``node --test tests/js/``: Node's built-in runner (no npm packages) over rules.js, batching.js
  and fold.js; this wrapper makes the suite's test command run them.
- static/app/rules.js's BAKED copy (used before the phone first fetched ``GET /api/v1/rules``)
  equals what the server serves.
- rules.js's text and phone checks agree with the server's own (schemas/fields.py) on a corpus of
  awkward strings: a value the phone accepts is one the server accepts, stored the same.
"""
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def _node(script, stdin=None):
    """Run an ES module snippet with the repository as working directory; its stdout as JSON."""
    done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@needs_node
def test_node_unit_tests_pass():
    done = subprocess.run([NODE, "--test", "tests/js/"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"node --test failed:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert "# fail 0" in done.stdout


@needs_node
def test_node_unit_tests_pass_on_the_files_as_served(tmp_path):
    """The server minifies the modules it sends (server/web/assets.py): the same tests, run on
    the served bytes, must pass too; and every served module must still parse."""
    from server.web.assets import served_bytes

    for path in (REPO / "static").rglob("*.js"):
        target = tmp_path / "static" / path.relative_to(REPO / "static")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(served_bytes(path))
        assert len(target.read_bytes()) <= path.stat().st_size
    shutil.copytree(REPO / "tests" / "js", tmp_path / "tests" / "js")
    (tmp_path / "package.json").write_text('{"type": "module"}')  # parse every file as a module
    done = subprocess.run([NODE, "--test", "tests/js/"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"node --test failed:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    for path in (tmp_path / "static").rglob("*.js"):
        checked = subprocess.run([NODE, "--check", str(path)], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=60)
        assert checked.returncode == 0, (path, checked.stderr[-2000:])
    assert "# fail 0" in done.stdout


@needs_node
def test_baked_rules_match_what_the_server_serves(client):
    resp = client.get("/api/v1/rules")
    if resp.status_code == 404:
        pytest.skip("GET /api/v1/rules is not there yet")
    served = resp.get_json()
    baked = _node("import('./static/app/rules.js').then((m) => "
                  "process.stdout.write(JSON.stringify(m.BAKED)))")
    # The whitespace class may not be served (yet): then the baked one must be the server's.
    if "whitespace" not in served:
        from server import vocab

        assert baked.pop("whitespace") == vocab.WHITESPACE
    # What the phone cannot know in advance: the digest, this year, the server's English texts.
    assert served["numbers"]["resident.birth_year"]["max"] >= 2025
    assert baked["numbers"]["resident.birth_year"]["max"] is None
    for doc in (served, baked):
        doc.pop("version")
        doc.pop("error_codes")
        doc["numbers"]["resident.birth_year"].pop("max")
    assert baked == served


def _corpus():
    """Strings that exercise every rule: each character of some blocks alone and inside text."""
    chars = [chr(c) for c in [*range(0x00, 0x300), *range(0x1e00, 0x1f00), *range(0x2000, 0x2070),
                              *range(0x3000, 0x3010), *range(0xfe00, 0xfe10), *range(0xfef0, 0x10000)]]
    # Unassigned code points differ between Python's and the browser's Unicode versions; keep
    # only a few that will stay unassigned (noncharacters and a long-empty Greek slot).
    chars = [c for c in chars if unicodedata.category(c) != "Cn"] + ["\u0378", "\ufdd0", "\uffff"]
    values = []
    for c in chars:
        values += [c, f"Nguy\u1ec5n{c}V\u0103n", f"  {c} A  "]
    values += ["", " ", "\n", "\r\n", "a\r\nb", "a\rb", "  Nguye\u0302\u0303n   V\u0103n  A ",
               "d\u00f2ng 1\n\n  d\u00f2ng 2  \n", "\t x \t", "x" * 160, "x" * 161, "\u1ec5" * 160,
               "e\u0302\u0303" * 161, "\U0001f600" * 160, "\U0001f600" * 161, "\u00a0\u2003",
               "\ufeff", "\ufeffT\u1ed5 3"]
    return values


@needs_node
@pytest.mark.parametrize("field", ["household.head_name", "household.address", "visit.notes",
                                   "service.provider"])
def test_text_checks_agree_with_the_server(field):
    fields_module = pytest.importorskip("schemas.fields")
    from marshmallow import ValidationError

    from server import vocab

    kind, limit = vocab.TEXT[field]
    values = _corpus()
    phone_side = _node(
        "import { checkText } from './static/app/rules.js';"
        "let s = ''; process.stdin.on('data', (d) => { s += d; }).on('end', () => {"
        f"  const out = JSON.parse(s).map((v) => checkText({json.dumps(field)}, v));"
        "  process.stdout.write(JSON.stringify(out)); });",
        stdin=json.dumps(values))
    mismatches = []
    for value, phone in zip(values, phone_side):
        try:
            server = {"value": fields_module.clean_text(value, kind, limit), "code": None}
        except ValidationError as err:
            server = {"value": None, "code": err.messages[0].code}
        if phone["code"] != server["code"] or (server["code"] is None and phone["value"] != server["value"]):
            mismatches.append((ascii(value), phone, server))
    assert not mismatches, mismatches[:20]


@needs_node
def test_phone_check_never_refuses_a_number_the_server_takes():
    fields_module = pytest.importorskip("schemas.fields")
    from marshmallow import ValidationError

    numbers = ["0912345678", "091 234 5678", "091.234.5678", "+84 912 345 678", "84912345678",
               "(0251) 3822 345", "0251 3822345", "0386123456", "0123456789", "012345678",
               "09123456789", "+1 202 555 0100", "0912 345 67a", "0012345678", "", "   ",
               "0912\u202e345678", "0" * 33, "+84 (0) 912 345 678", "0912-345-678", "070 123 4567",
               "0561234567", "0812345678", "0283 822 1234", "02438221234", "0201234567"]
    phone_side = _node(
        "import { checkPhone } from './static/app/rules.js';"
        "let s = ''; process.stdin.on('data', (d) => { s += d; }).on('end', () => {"
        "  process.stdout.write(JSON.stringify(JSON.parse(s).map((v) => checkPhone(v)))); });",
        stdin=json.dumps(numbers))
    field = fields_module.PhoneNumber(allow_none=True)
    accepted_by_phone_only = []
    for number, phone in zip(numbers, phone_side):
        try:
            field.deserialize(number)
            server_ok = True
        except ValidationError:
            server_ok = False
        # The server's libphonenumber test is stricter than the pattern, never looser.
        assert server_ok <= (phone["code"] is None), (number, phone)
        if server_ok is False and phone["code"] is None:
            accepted_by_phone_only.append(number)
    assert "0123456789" not in accepted_by_phone_only
