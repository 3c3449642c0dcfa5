"""The province pull's keys and provinces: a key records its use and stops once revoked, no key
or a token is refused, another province's key sees none of this province (and its names that
look like formulas stay text), the per-key rate limit, and ``flask units load-communes``.
"""
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey, AuditEntry, Commune, Province
from tests.conftest import ENGINE
from tests.factories import login
from tests.province_helpers import (FORMATS, LEVELS, URL, make_history, new_key,
                                    other_province, output_text, pull)
from tests.test_coverage_definitions import OCT


@pytest.fixture
def history(client, world):
    """Two households with personal data in October 2025 (``make_history``)."""
    return make_history(client, world)


# --- keys -----------------------------------------------------------------------------------

def test_a_key_records_its_use_and_stops_working_once_revoked(client, runner, world, app):
    key, row = new_key(runner)
    assert row.last_used_at is None and row.key_hash != key and key not in row.key_hash
    listed = runner.invoke(args=["apikeys", "list", "--province", "75"])
    assert listed.exit_code == 0 and f"{row.id}\t75\t{row.prefix}" in listed.output
    assert key not in listed.output
    pull(client, key)
    db.session.rollback()
    used = db.session.get(ApiKey, row.id).last_used_at
    assert used is not None
    result = runner.invoke(args=["apikeys", "revoke", str(row.id)])
    assert result.exit_code == 0, result.output
    resp = pull(client, key, expect=401)
    assert resp.get_json()["error"]["code"] == "unauthorized"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apikey.revoke",
                                                       AuditEntry.entity_id == str(row.id)))
    assert entry is not None and entry.actor == "cli"
    assert runner.invoke(args=["apikeys", "revoke", "999999"]).exit_code != 0


def test_no_key_a_wrong_key_or_a_token_is_refused(client, runner, world):
    assert client.get(URL, query_string=OCT).status_code == 401
    assert pull(client, "cnscd_not-a-key", expect=401).get_json()["error"]["code"] == \
        "unauthorized"
    analyst = login(client, world.users["province_analyst"])
    resp = client.get(URL, query_string=OCT, headers=analyst)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_another_provinces_key_never_sees_this_province(client, runner, world, history,
                                                        tmp_path):
    other = other_province(runner, tmp_path)
    key, row = new_key(runner, "48")
    ours = {world.commune.code} | {h.code for h in world.hamlets}
    for level in LEVELS:
        for fmt in FORMATS:
            text = output_text(pull(client, key, level=level, format=fmt))
            assert not any(code in text for code in ours), (level, fmt)
    body = pull(client, key).get_json()
    assert body["province"]["code"] == "48"
    codes = {r["code"] for r in body["rows"]}
    assert set(other.codes) <= codes and world.commune.code not in codes
    db.session.rollback()
    province_48 = db.session.scalar(select(Province).where(Province.code == "48"))
    assert all(db.session.scalar(select(Commune.province_id).where(Commune.code == code))
               == province_48.id for code in codes)
    refused = pull(client, key, expect=403, commune=world.commune.code)
    assert refused.get_json()["error"]["code"] == "forbidden"
    pull(client, key, expect=403, province="75")
    mine, _ = new_key(runner)
    assert other.codes[0] not in output_text(pull(client, mine, level="commune", format="csv"))
    pull(client, mine, expect=403, commune=other.codes[0])


def test_text_that_looks_like_a_formula_stays_text(client, runner, world, tmp_path):
    other = other_province(runner, tmp_path, names=['=HYPERLINK("http://x.test")', "@SUM(1)"])
    key, _ = new_key(runner, "48")
    text = pull(client, key, format="csv").data.decode("utf-8-sig")
    assert """'=HYPERLINK(""http://x.test"")""" in text and "'@SUM(1)" in text
    book = load_workbook(io.BytesIO(pull(client, key, format="xlsx",
                                         commune=other.codes[0]).data))
    cell = book["Số liệu"]["B3"]
    assert cell.value == '=HYPERLINK("http://x.test")' and cell.data_type == "s"


def test_pulls_are_rate_limited_per_key(client, runner, world, app):
    app.config["PROVINCE_API_RATE_LIMIT"] = "3 per minute"
    key, _ = new_key(runner)
    other, _ = new_key(runner)
    for _ in range(3):
        pull(client, key)
    limited = pull(client, key, expect=429)
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    pull(client, other)


# --- loading communes -----------------------------------------------------------------------

def test_load_communes_is_idempotent_and_refuses_a_broken_file(runner, world, tmp_path):
    other = other_province(runner, tmp_path)
    again = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in again.output
    renamed = [dict(f, properties={**f["properties"], "name": "Tên Mới"}) for f in other.features]
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": renamed}))
    result = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert "0 created, 2 updated, 0 unchanged" in result.output
    db.session.rollback()
    assert db.session.scalar(select(Commune.name).where(Commune.code == other.codes[0])) == \
        "Tên Mới"

    bowtie = {"type": "Polygon", "coordinates": [[[108, 16], [108.01, 16.01], [108.01, 16],
                                                  [108, 16.01], [108, 16]]]}
    broken = [renamed[0], dict(renamed[1], geometry=bowtie)]
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": broken}))
    refused = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "48"])
    assert refused.exit_code != 0
    assert "invalid boundary" in refused.output and other.codes[1] in refused.output
    other.path.write_text(json.dumps({"type": "FeatureCollection", "features": renamed}))
    unknown = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "11"])
    assert unknown.exit_code != 0 and "unknown province" in unknown.output
    ours = runner.invoke(args=["units", "load-communes", str(other.path), "--province", "75"])
    assert ours.exit_code != 0 and "another province" in ours.output


@pytest.mark.skipif(ENGINE != "sqlite", reason="the 95 communes would stay in the shared "
                                                "PostgreSQL database for later tests")
def test_the_shipped_dong_nai_file_loads_all_95_communes(runner, app):
    from server.services.demo import DATA

    first = runner.invoke(args=["units", "load-communes", str(DATA), "--province", "75",
                                "--province-name", "Đồng Nai"])
    assert first.exit_code == 0 and "95 created" in first.output
    second = runner.invoke(args=["units", "load-communes", str(DATA), "--province", "75"])
    assert "0 created, 0 updated, 95 unchanged" in second.output
