"""GET /api/v1/rules: the phone's copy of the server's input rules, and that they are the rules the
push really applies."""
import re

import pytest

from server import vocab
from tests.conftest import ENGINE
from tests.factories import login
from tests.sync_helpers import household, push, statuses


@pytest.fixture
def rules(client):
    resp = client.get("/api/v1/rules")
    assert resp.status_code == 200
    return resp.get_json()


def test_rules_are_public_versioned_and_revalidated_with_an_etag(client, rules):
    assert re.fullmatch(r"[0-9a-f]{12}", rules["version"])
    etag = client.get("/api/v1/rules").headers["ETag"]
    assert client.get("/api/v1/rules", headers={"If-None-Match": etag}).status_code == 304


def test_rules_carry_every_vocabulary_limit_and_code(rules):
    assert rules["vocab"]["outcomes"] == list(vocab.OUTCOMES)
    assert rules["vocab"]["results"] == list(vocab.RESULTS)
    assert rules["vocab"]["consent_purposes"] == list(vocab.CONSENT_PURPOSES)
    assert rules["text"]["resident.full_name"] == {"kind": "name", "max": 160}
    assert rules["numbers"]["household.members_count"] == {"min": 1, "max": 60}
    assert rules["numbers"]["resident.birth_year"]["max"] == vocab.current_year()
    assert rules["error_codes"] == vocab.ERROR_CODES
    assert rules["push"]["max_items"] == vocab.PUSH_MAX_ITEMS


@pytest.mark.parametrize("number,accepted", [
    ("0912345678", True), ("0912 345 678", True), ("+84 912-345-678", True),
    ("84912345678", True), ("0251 3821 234", True),
    ("0123456789", False), ("091234567", False), ("09123456789", False), ("12", False),
])
def test_the_phone_pattern_the_phone_uses_is_what_the_server_accepts(client, world, rules,
                                                                       number, accepted):
    digits = re.sub(rules["phone"]["separators"], "", number)
    assert bool(re.match(rules["phone"]["pattern"], digits)) is accepted
    headers = login(client, world.users["member"])
    body = push(client, headers, [household(world.hamlets[0].id, phone=number)])[1]
    assert statuses(body) == (["created"] if accepted else ["rejected"])


@pytest.mark.parametrize("members,accepted", [(0, False), (1, True), (60, True), (61, False)])
def test_number_bounds_in_the_rules_are_the_push_bounds(client, world, rules, members, accepted):
    bounds = rules["numbers"]["household.members_count"]
    low, high = bounds["min"], bounds["max"]
    assert (low <= members <= high) is accepted
    headers = login(client, world.users["member"])
    body = push(client, headers, [household(world.hamlets[0].id, members_count=members,
                                            adults_count=0)])[1]
    assert statuses(body) == (["created"] if accepted else ["rejected"])


@pytest.mark.skipif(ENGINE == "postgresql", reason="no database: once is enough")
def test_text_checks_refuse_exactly_the_characters_the_rules_name():
    """Every code point of the BMP (and every 61st beyond), alone between letters, in every text
    kind: refused (bad_characters) exactly when the rules' categories or the bidi controls name
    it — the fast path for plain text included (schemas/fields.py)."""
    import unicodedata

    from marshmallow import ValidationError

    from schemas.fields import clean_text

    wrong = []
    for kind, rules in vocab.TEXT_KINDS.items():
        forbidden = set(rules["forbidden_categories"])
        for cp in [*range(0x10000), *range(0x10000, 0x110000, 61)]:
            char = chr(cp)
            if "\ud800" <= char <= "\udfff" or re.fullmatch(vocab.WHITESPACE, char):
                continue  # refused before the check / turned into spaces by it
            refused = char in vocab.BIDI_CONTROLS or (
                char not in rules["allowed"] and unicodedata.category(char) in forbidden)
            try:
                clean_text(f"a{char}b", kind, 10)
                got = False
            except ValidationError:
                got = True
            if got != refused:
                wrong.append((kind, hex(cp)))
    assert wrong == []
