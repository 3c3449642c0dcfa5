"""Khóa API: a province key created (its plain text shown once, only its hash kept), used (the
list shows its last use) and revoked (the next pull answers 401)."""
import hashlib
import re

from sqlalchemy import select

from server.extensions import db
from server.models import ApiKey
from tests import admin_helpers as ah

PULL = "/api/v1/province/aggregates"
_ONCE = re.compile(r'name="once" type="hidden" value="([^"]+)"')
QUERY = {"level": "province", "from": "2025-10-01", "to": "2025-10-31"}


def _create(client, **form):
    """Post the key form as the page gave it (its CSRF token and one-time mark)."""
    token = ah.csrf(client, "/admin/keys")  # reads the page, which issues a fresh mark
    once = _ONCE.search(ah.text(client.get("/admin/keys"))).group(1)
    data = {"province": "75", "label": "", "csrf_token": token, "once": once, **form}
    return client.post("/admin/keys", data=data), data


def test_a_key_is_shown_once_used_listed_with_its_last_use_and_revoked(client, world):
    ah.admin(client, world)
    resp, sent = _create(client, label="Máy chủ báo cáo Sở")
    assert resp.status_code == 200
    body = ah.text(resp)
    assert "đây là lần duy nhất khóa được hiển thị" in body
    plain = re.search(r'<p class="secret" id="new-key">([^<]+)</p>', body).group(1)
    assert resp.headers["Cache-Control"] == "no-store"
    db.session.rollback()
    key = db.session.scalar(select(ApiKey).where(
        ApiKey.key_hash == hashlib.sha256(plain.encode()).hexdigest()))
    assert key is not None and key.label == "Máy chủ báo cáo Sở" and plain.startswith(key.prefix)
    ah.assert_audited("apikey.create", key.id, world.users["admin"], province="75",
                      label="Máy chủ báo cáo Sở")

    listing = ah.text(client.get("/admin/keys"))
    assert plain not in listing and f"{key.prefix}…" in listing and "Chưa dùng" in listing
    again = client.post("/admin/keys", data=sent)  # a reload of the answer re-posts the form
    assert again.status_code == 302
    assert "không tạo thêm khóa" in ah.text(client.get("/admin/keys"))
    assert len(ah.audited_by("apikey.create", world.users["admin"])) == 1

    used = client.get(PULL, headers={"X-API-Key": plain}, query_string=QUERY)
    assert used.status_code == 200
    listing = ah.text(client.get("/admin/keys"))
    assert "Chưa dùng" not in listing.split(f"{key.prefix}…")[1].split("</tr>")[0]

    resp = ah.post(client, f"/admin/keys/{key.id}/revoke", token_page="/admin/keys")
    assert resp.status_code == 302
    ah.assert_audited("apikey.revoke", key.id, world.users["admin"])
    assert client.get(PULL, headers={"X-API-Key": plain},
                      query_string=QUERY).status_code == 401
    assert "Đã thu hồi" in ah.text(client.get("/admin/keys"))


def test_a_key_for_an_unknown_province_or_with_a_bad_label_is_refused(client, world):
    ah.admin(client, world)
    resp, _ = _create(client, province="00")
    assert resp.status_code == 422 and "Lựa chọn không hợp lệ" in ah.text(resp)
    resp, _ = _create(client, label="Sở\x00KH")
    assert resp.status_code == 422 and "Có ký tự không hợp lệ" in ah.text(resp)
    assert not ah.audited_by("apikey.create", world.users["admin"])
