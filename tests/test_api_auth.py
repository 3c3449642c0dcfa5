"""Sign-in, token lifecycle and the current user."""
from tests.factories import PASSWORD, login


def test_login_returns_token_and_user_with_hamlets(client, world):
    resp = client.post("/api/v1/auth/token", json={
        "username": world.users["member"], "password": PASSWORD, "device_id": "phone-1"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["token"] and body["expires_at"]
    assert body["user"]["role"] == "member"
    assert body["user"]["commune_code"] == world.commune.code
    assert body["user"]["hamlet_ids"] == [world.hamlets[0].id]

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json() == body["user"]
